'use strict';
// The same code runs on AWS and under `nimbus dev`: locally the SDK reaches
// the local SQS through AWS_ENDPOINT_URL_SQS, which nimbus dev sets.
const { SQSClient, SendMessageCommand } = require('@aws-sdk/client-sqs');

const sqs = new SQSClient({});

exports.createOrder = async (event) => {
  const order = JSON.parse(event.body || '{}');
  if (!order.item) {
    return { statusCode: 400, body: JSON.stringify({ error: 'item is required' }) };
  }
  const { MessageId } = await sqs.send(new SendMessageCommand({
    QueueUrl: process.env.ORDERS_QUEUE_URL,
    MessageBody: JSON.stringify(order),
  }));
  return { statusCode: 202, body: JSON.stringify({ queued: MessageId }) };
};

// Orders for "poison" fail every time and reach the DLQ after 3 receives;
// the others are reported as done individually.
exports.worker = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    const order = JSON.parse(record.body);
    if (order.item === 'poison') {
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    console.log(`shipping ${order.qty || 1} x ${order.item}`);
  }
  return { batchItemFailures };
};
