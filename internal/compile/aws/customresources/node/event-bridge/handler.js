'use strict';

// Custom::EventBridge: the legacy (pre-CloudFormation) way of wiring a
// function to an EventBridge rule, kept for stacks that still use it.

const {
  EventBridgeClient,
  CreateEventBusCommand,
  DeleteEventBusCommand,
  PutRuleCommand,
  DeleteRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} = require('@aws-sdk/client-eventbridge');
const {
  LambdaClient,
  AddPermissionCommand,
} = require('@aws-sdk/client-lambda');
const { client } = require('../lib/clients');
const { removePermission } = require('../lib/permissions');
const { environment, wrap, statementId } = require('../lib/cfn');
const { busName, targetId, target, ruleArn, permissionTarget } = require('./rules');

function ignore(...names) {
  return (error) => {
    if (!names.includes(error.name)) throw error;
  };
}

async function handle(event, context) {
  const { FunctionName: functionName, EventBridgeConfig: config } = event.ResourceProperties;
  const env = environment(context);
  const lambdaArn = `arn:${env.partition}:lambda:${env.region}:${env.accountId}:function:${functionName}`;
  const events = client(EventBridgeClient, env.region);
  const lambda = client(LambdaClient, env.region);
  const bus = busName(config.EventBus);
  const ownsBus = config.EventBus && !config.EventBus.startsWith('arn') && config.EventBus !== 'default';
  const sid = statementId(functionName, permissionTarget(config.RuleName));

  if (event.RequestType === 'Delete') {
    await events
      .send(new RemoveTargetsCommand({ Rule: config.RuleName, EventBusName: bus, Ids: [targetId(config.RuleName)] }))
      .catch(ignore('ResourceNotFoundException'));
    await events
      .send(new DeleteRuleCommand({ Name: config.RuleName, EventBusName: bus }))
      .catch(ignore('ResourceNotFoundException'));
    await removePermission(lambda, functionName, sid);
    if (ownsBus) {
      // Another function's rule may still use the bus; EventBridge refuses then.
      await events.send(new DeleteEventBusCommand({ Name: bus })).catch(() => {});
    }
    return {};
  }
  if (event.RequestType === 'Create') {
    if (ownsBus) {
      await events.send(new CreateEventBusCommand({ Name: bus })).catch(ignore('ResourceAlreadyExistsException'));
    }
    await lambda
      .send(
        new AddPermissionCommand({
          FunctionName: functionName,
          StatementId: sid,
          Action: 'lambda:InvokeFunction',
          Principal: 'events.amazonaws.com',
          SourceArn: ruleArn(env, config),
        })
      )
      .catch(ignore('ResourceConflictException'));
  }
  await events.send(
    new PutRuleCommand({
      Name: config.RuleName,
      EventBusName: bus,
      EventPattern: config.Pattern ? JSON.stringify(config.Pattern) : undefined,
      ScheduleExpression: config.Schedule,
      State: config.State,
    })
  );
  await events
    .send(new RemoveTargetsCommand({ Rule: config.RuleName, EventBusName: bus, Ids: [targetId(config.RuleName)] }))
    .catch(ignore('ResourceNotFoundException'));
  await events.send(
    new PutTargetsCommand({ Rule: config.RuleName, EventBusName: bus, Targets: [target(lambdaArn, config)] })
  );
  return {};
}

module.exports = { handler: wrap('Custom::EventBridge', handle) };
