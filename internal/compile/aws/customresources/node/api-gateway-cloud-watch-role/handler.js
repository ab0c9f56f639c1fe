'use strict';

// Custom::ApiGatewayAccountCloudWatchRole: makes sure the account-wide API
// Gateway setting points at a role allowed to write CloudWatch logs,
// creating "serverlessApiGatewayCloudWatchRole" when none is given. Update
// and Delete leave the account setting alone: other APIs may rely on it.

const { APIGatewayClient, GetAccountCommand, UpdateAccountCommand } = require('@aws-sdk/client-api-gateway');
const {
  IAMClient,
  CreateRoleCommand,
  ListAttachedRolePoliciesCommand,
  AttachRolePolicyCommand,
} = require('@aws-sdk/client-iam');
const { client } = require('../lib/clients');
const { environment, wrap, retry } = require('../lib/cfn');

const ROLE_NAME = 'serverlessApiGatewayCloudWatchRole';

async function ensureRole(iam, partition) {
  const policyArn = `arn:${partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs`;
  let attached;
  try {
    attached = (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: ROLE_NAME }))).AttachedPolicies || [];
  } catch (error) {
    if (error.name !== 'NoSuchEntityException' && error.name !== 'NoSuchEntity') throw error;
    await iam.send(
      new CreateRoleCommand({
        RoleName: ROLE_NAME,
        Path: '/',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: ['apigateway.amazonaws.com'] }, Action: ['sts:AssumeRole'] },
          ],
        }),
      })
    );
    attached = [];
  }
  if (!attached.some((p) => p.PolicyArn === policyArn)) {
    await iam.send(new AttachRolePolicyCommand({ RoleName: ROLE_NAME, PolicyArn: policyArn }));
  }
}

async function handle(event, context) {
  if (event.RequestType !== 'Create') return {};
  const { partition, region, accountId } = environment(context);
  const apiGateway = client(APIGatewayClient, region);
  const iam = client(IAMClient, region);
  let roleArn = (event.ResourceProperties || {}).RoleArn;
  if (!roleArn) {
    roleArn = `arn:${partition}:iam::${accountId}:role/${ROLE_NAME}`;
    await ensureRole(iam, partition);
  }
  const current = (await apiGateway.send(new GetAccountCommand({}))).cloudwatchRoleArn;
  if (current === roleArn) return {};
  // A role created moments ago is not usable yet; IAM settles within ~100s.
  await retry(
    () =>
      apiGateway.send(
        new UpdateAccountCommand({
          patchOperations: [{ op: 'replace', path: '/cloudwatchRoleArn', value: roleArn }],
        })
      ),
    10,
    10000
  );
  return {};
}

module.exports = { handler: wrap('Custom::ApiGatewayAccountCloudWatchRole', handle) };
