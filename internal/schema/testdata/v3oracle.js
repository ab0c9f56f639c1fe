'use strict';
// Validates configs with serverless v3's own schema and ajv setup, for the
// differential test in oracle_test.go. argv[2] is the serverless package
// directory, argv[3] a file with one JSON config per line; writes one JSON
// object per line: v3's messages and the config as ajv left it.
const path = require('path');
const slsDir = process.argv[2];
const Serverless = require(slsDir);
const resolveAjvValidate = require(path.join(slsDir, 'lib/classes/config-schema-handler/resolve-ajv-validate'));
const normalizeAjvErrors = require(path.join(slsDir, 'lib/classes/config-schema-handler/normalize-ajv-errors'));

const dropNulls = (v) => {
  if (Array.isArray(v)) { v.forEach(dropNulls); return; }
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (x == null) delete v[k]; else dropNulls(x);
    }
  }
};

(async () => {
  const sls = new Serverless({
    commands: ['print'], options: {}, serviceDir: process.cwd(),
    configuration: { service: 'x', provider: { name: 'aws' } }, configurationFilename: 'serverless.yml',
    isConfigurationResolved: true, hasResolvedCommandsExternally: true, variablesMeta: new Map(),
  });
  await sls.init();
  const validate = await resolveAjvValidate(sls.configSchemaHandler.schema);
  const lines = require('fs').readFileSync(process.argv[3], 'utf8').split('\n').filter(Boolean);
  const out = [];
  for (const line of lines) {
    const config = JSON.parse(line);
    if (config && typeof config.provider === 'string') config.provider = { name: config.provider };
    dropNulls(config);
    validate(config);
    const errs = validate.errors ? normalizeAjvErrors(validate.errors).map((e) => e.message) : [];
    // ajv coerces types in place (coerceTypes: "array"): the config after
    // validation is what the rest of v3 reads.
    out.push(JSON.stringify({ errors: errs, coerced: config }));
  }
  process.stdout.write(out.join('\n') + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
