'use strict';

// Custom::CognitoUserPool: attaches a function as triggers of a user pool
// that exists outside the stack, found by name.

const {
  CognitoIdentityProviderClient,
  ListUserPoolsCommand,
  DescribeUserPoolCommand,
  UpdateUserPoolCommand,
} = require('@aws-sdk/client-cognito-identity-provider');
const {
  LambdaClient,
  AddPermissionCommand,
} = require('@aws-sdk/client-lambda');
const { client } = require('../lib/clients');
const { removePermission } = require('../lib/permissions');
const { environment, wrap, statementId } = require('../lib/cfn');
const { withFunction, withoutFunction, updateRequest, permissionTarget } = require('./triggers');

async function findPool(cognito, name) {
  let NextToken;
  do {
    const page = await cognito.send(new ListUserPoolsCommand({ MaxResults: 60, NextToken }));
    const match = (page.UserPools || []).find((pool) => pool.Name === name);
    if (match) return match;
    NextToken = page.NextToken;
  } while (NextToken);
  throw new Error(`User pool "${name}" not found`);
}

async function handle(event, context) {
  const { FunctionName: functionName, UserPoolName: poolName, UserPoolConfigs: configs } =
    event.ResourceProperties;
  const { partition, region, accountId } = environment(context);
  const lambdaArn = `arn:${partition}:lambda:${region}:${accountId}:function:${functionName}`;
  const cognito = client(CognitoIdentityProviderClient, region);
  const lambda = client(LambdaClient, region);
  const sid = statementId(functionName, permissionTarget(poolName));

  const { Id } = await findPool(cognito, poolName);
  const { UserPool: pool } = await cognito.send(new DescribeUserPoolCommand({ UserPoolId: Id }));
  if (event.RequestType === 'Delete') {
    await cognito.send(new UpdateUserPoolCommand(updateRequest(pool, withoutFunction(pool.LambdaConfig, lambdaArn))));
    await removePermission(lambda, functionName, sid);
    return {};
  }
  if (event.RequestType === 'Create') {
    await lambda
      .send(
        new AddPermissionCommand({
          FunctionName: functionName,
          StatementId: sid,
          Action: 'lambda:InvokeFunction',
          Principal: 'cognito-idp.amazonaws.com',
          SourceArn: `arn:${partition}:cognito-idp:${region}:${accountId}:userpool/${Id}`,
        })
      )
      .catch((error) => {
        if (error.name !== 'ResourceConflictException') throw error;
      });
  }
  await cognito.send(
    new UpdateUserPoolCommand(updateRequest(pool, withFunction(pool.LambdaConfig, lambdaArn, configs || [])))
  );
  return {};
}

module.exports = { handler: wrap('Custom::CognitoUserPool', handle) };
