'use strict';

// CloudFormation custom-resource plumbing shared by every Nimbus handler:
// reading where the handler runs, answering CloudFormation's pre-signed
// ResponseURL, and turning a handler's outcome into SUCCESS or FAILED so a
// stack never waits an hour for an answer that will not come.

const http = require('http');
const https = require('https');
const { URL } = require('url');

// environment derives partition, region and account from the handler's own
// ARN: arn:<partition>:lambda:<region>:<account>:function:<name>.
function environment(context) {
  const parts = String(context.invokedFunctionArn || '').split(':');
  return { partition: parts[1] || 'aws', region: parts[3], accountId: parts[4] };
}

// respond PUTs the result document to CloudFormation's pre-signed URL.
function respond(event, context, status, reason, data) {
  const body = JSON.stringify({
    Status: status,
    Reason: reason || `See CloudWatch log stream ${context.logStreamName}`,
    PhysicalResourceId: event.PhysicalResourceId || event.LogicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
    Data: data || {},
  });
  const url = new URL(event.ResponseURL);
  // Pre-signed URLs are https; plain http is accepted for local test servers.
  const transport = url.protocol === 'http:' ? http : https;
  return new Promise((resolve, reject) => {
    const req = transport.request(
      {
        method: 'PUT',
        hostname: url.hostname,
        port: url.port || (url.protocol === 'http:' ? 80 : 443),
        path: url.pathname + url.search,
        headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', resolve);
      }
    );
    req.on('error', reject);
    req.end(body);
  });
}

// wrap turns an async (event, context) => data function into a Lambda
// handler that always reports back to CloudFormation. Only the request type
// and logical ID are logged: resource properties may hold ARNs of secrets.
function wrap(name, fn) {
  return async (event, context) => {
    console.log(`${name}: ${event.RequestType} ${event.LogicalResourceId}`);
    try {
      const data = await fn(event, context);
      await respond(event, context, 'SUCCESS', undefined, data);
    } catch (error) {
      console.error(`${name} failed: ${error && error.message}`);
      await respond(event, context, 'FAILED', String(error && error.message).slice(0, 1000));
    }
  };
}

// statementId builds a Lambda permission statement ID the way serverless
// v3's handlers do, so Nimbus can remove permissions v3 added and the
// other way round: "<function>-<target>" cut to 100 characters.
function statementId(functionName, target) {
  const id = `${functionName}-${target}`;
  return id.length < 100 ? id : id.substring(0, 100);
}

// retry runs fn up to attempts times, waiting delayMs between tries.
async function retry(fn, attempts, delayMs) {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (error) {
      if (i >= attempts) throw error;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

module.exports = { environment, respond, wrap, statementId, retry };
