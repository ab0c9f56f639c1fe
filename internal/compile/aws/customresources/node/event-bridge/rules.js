'use strict';

// Pure helpers for legacy EventBridge rules: bus names, target IDs and the
// target document, named as serverless v3 names them so rules created by
// either tool are found by the other.

const crypto = require('crypto');

// busName is the bus of an ARN (".../event-bus/<name>") or the name itself.
function busName(eventBus) {
  if (eventBus && eventBus.startsWith('arn')) return eventBus.slice(eventBus.indexOf('/') + 1);
  return eventBus;
}

function targetId(ruleName) {
  const id = `${ruleName}-target`;
  if (id.length <= 64) return id;
  const md5 = crypto.createHash('md5').update(id).digest('hex');
  return `${id.slice(0, 31 - 'target'.length)}${md5}-target`;
}

function target(lambdaArn, config) {
  const out = { Arn: lambdaArn, Id: targetId(config.RuleName) };
  if (config.Input) out.Input = JSON.stringify(config.Input);
  else if (config.InputPath) out.InputPath = config.InputPath;
  else if (config.InputTransformer) out.InputTransformer = config.InputTransformer;
  return out;
}

// ruleArn is the rule's ARN, with the bus in it for custom buses.
function ruleArn(env, config) {
  const bus = busName(config.EventBus);
  const path = bus ? `${bus}/${config.RuleName}` : config.RuleName;
  return `arn:${env.partition}:events:${env.region}:${env.accountId}:rule/${path}`;
}

function permissionTarget(ruleName) {
  return ruleName.toLowerCase().replace(/[.:*]/g, '');
}

module.exports = { busName, targetId, target, ruleArn, permissionTarget };
