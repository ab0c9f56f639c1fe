'use strict';

// Pure helpers for triggers on an existing user pool: removing a function's
// triggers from a LambdaConfig, adding new ones, and the subset of a
// described pool that UpdateUserPool accepts back (it resets anything
// omitted, so everything settable must be passed through).

const CUSTOM_SENDERS = ['CustomSMSSender', 'CustomEmailSender'];

function withoutFunction(lambdaConfig, lambdaArn) {
  const out = {};
  for (const [key, value] of Object.entries(lambdaConfig || {})) {
    if (value === lambdaArn) continue;
    if (CUSTOM_SENDERS.includes(key) && value && value.LambdaArn === lambdaArn) continue;
    out[key] = value;
  }
  if ('KMSKeyID' in out && !CUSTOM_SENDERS.some((s) => s in out)) delete out.KMSKeyID;
  return out;
}

function withFunction(lambdaConfig, lambdaArn, poolConfigs) {
  const out = withoutFunction(lambdaConfig, lambdaArn);
  for (const config of poolConfigs) {
    if (CUSTOM_SENDERS.includes(config.Trigger)) {
      out[config.Trigger] = { LambdaArn: lambdaArn, LambdaVersion: config.LambdaVersion };
      out.KMSKeyID = config.KMSKeyID;
    } else {
      out[config.Trigger] = lambdaArn;
    }
  }
  return out;
}

// Settings DescribeUserPool returns that UpdateUserPool accepts.
const UPDATABLE = [
  'Policies', 'DeletionProtection', 'LambdaConfig', 'AutoVerifiedAttributes',
  'SmsVerificationMessage', 'EmailVerificationMessage', 'EmailVerificationSubject',
  'VerificationMessageTemplate', 'SmsAuthenticationMessage', 'UserAttributeUpdateSettings',
  'MfaConfiguration', 'DeviceConfiguration', 'EmailConfiguration', 'SmsConfiguration',
  'UserPoolTags', 'AdminCreateUserConfig', 'UserPoolAddOns', 'AccountRecoverySetting',
];

function updateRequest(pool, lambdaConfig) {
  const req = { UserPoolId: pool.Id };
  for (const key of UPDATABLE) {
    if (pool[key] !== undefined) req[key] = pool[key];
  }
  req.LambdaConfig = lambdaConfig;
  // DescribeUserPool reports the deprecated UnusedAccountValidityDays where
  // UpdateUserPool expects TemporaryPasswordValidityDays.
  if (req.AdminCreateUserConfig && req.AdminCreateUserConfig.UnusedAccountValidityDays !== undefined) {
    req.AdminCreateUserConfig = Object.assign({}, req.AdminCreateUserConfig);
    const days = req.AdminCreateUserConfig.UnusedAccountValidityDays;
    delete req.AdminCreateUserConfig.UnusedAccountValidityDays;
    if (req.Policies && req.Policies.PasswordPolicy) {
      req.Policies = Object.assign({}, req.Policies, {
        PasswordPolicy: Object.assign({}, req.Policies.PasswordPolicy, {
          TemporaryPasswordValidityDays: days,
        }),
      });
    }
  }
  return req;
}

// permissionTarget is the pool part of the permission's statement ID.
function permissionTarget(poolName) {
  return poolName.toLowerCase().replace(/[.:*\s]/g, '');
}

module.exports = { withoutFunction, withFunction, updateRequest, permissionTarget };
