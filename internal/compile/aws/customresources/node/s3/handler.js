'use strict';

// Custom::S3: subscribes a function to events of a bucket that exists
// outside the stack, keeping other subscribers' entries intact.

const {
  S3Client,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
} = require('@aws-sdk/client-s3');
const {
  LambdaClient,
  AddPermissionCommand,
} = require('@aws-sdk/client-lambda');
const { client } = require('../lib/clients');
const { removePermission } = require('../lib/permissions');
const { environment, wrap, statementId } = require('../lib/cfn');
const { withFunction, withoutFunction, permissionTarget } = require('./notifications');

async function currentNotification(s3, bucket) {
  const res = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
  const notification = Object.assign({}, res);
  delete notification.$metadata;
  return notification;
}

async function handle(event, context) {
  const { FunctionName: functionName, BucketName: bucket, BucketConfigs: configs } =
    event.ResourceProperties;
  const { partition, region, accountId } = environment(context);
  const lambdaArn = `arn:${partition}:lambda:${region}:${accountId}:function:${functionName}`;
  const s3 = client(S3Client, region);
  const lambda = client(LambdaClient, region);
  const sid = statementId(functionName, permissionTarget(bucket));

  if (event.RequestType === 'Delete') {
    const notification = await currentNotification(s3, bucket);
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: withoutFunction(notification, functionName),
      })
    );
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
          Principal: 's3.amazonaws.com',
          SourceArn: `arn:${partition}:s3:::${bucket}`,
          SourceAccount: accountId,
        })
      )
      .catch((error) => {
        if (error.name !== 'ResourceConflictException') throw error;
      });
  }
  const notification = await currentNotification(s3, bucket);
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      NotificationConfiguration: withFunction(notification, functionName, lambdaArn, configs || []),
    })
  );
  return {};
}

module.exports = { handler: wrap('Custom::S3', handle) };
