'use strict';

// Pure helpers for notifications on an existing bucket: which entries belong
// to a function and what the new LambdaFunctionConfigurations are. IDs are
// "<functionName>-<md5 of the bucket config>", as serverless v3 writes them,
// so either tool can replace the other's entries.

const crypto = require('crypto');

function configurationId(functionName, bucketConfig) {
  const md5 = crypto.createHash('md5').update(JSON.stringify(bucketConfig)).digest('hex');
  return `${functionName}-${md5}`;
}

// filterOf turns [{Prefix: "a/"}, {Suffix: ".csv"}] into an S3 key filter.
function filterOf(rules) {
  if (!rules || rules.length === 0) return undefined;
  return {
    Key: {
      FilterRules: rules.map((rule) => {
        const name = Object.keys(rule)[0];
        return { Name: name.toLowerCase(), Value: rule[name] };
      }),
    },
  };
}

// withoutFunction drops the function's entries from a notification config.
function withoutFunction(notification, functionName) {
  const out = Object.assign({}, notification);
  if (out.LambdaFunctionConfigurations) {
    out.LambdaFunctionConfigurations = out.LambdaFunctionConfigurations.filter(
      (conf) => !(conf.Id || '').startsWith(functionName)
    );
  }
  return out;
}

// withFunction replaces the function's entries by one per bucket config.
function withFunction(notification, functionName, lambdaArn, bucketConfigs) {
  const out = withoutFunction(notification, functionName);
  const added = bucketConfigs.map((bucketConfig) => ({
    Events: [bucketConfig.Event],
    LambdaFunctionArn: lambdaArn,
    Filter: filterOf(bucketConfig.Rules),
    Id: configurationId(functionName, bucketConfig),
  }));
  out.LambdaFunctionConfigurations = (out.LambdaFunctionConfigurations || []).concat(added);
  return out;
}

// permissionTarget is the bucket part of the permission's statement ID.
function permissionTarget(bucketName) {
  return bucketName.replace(/[.:*]/g, '');
}

module.exports = { configurationId, filterOf, withoutFunction, withFunction, permissionTarget };
