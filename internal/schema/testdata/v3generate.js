'use strict';
// Generates configs from serverless v3's own schema (valid ones, then one
// random mutation each) and validates them with v3's validator, for the
// differential test in oracle_test.go. argv[2]: serverless package dir,
// argv[3]: count, argv[4]: seed. Writes one JSON line per config:
// {"config": …, "errors": [v3's messages], "coerced": the config as ajv
// left it}.
const path = require('path');
const slsDir = process.argv[2];
const count = Number(process.argv[3] || 500);
let seed = Number(process.argv[4] || 1);
const Serverless = require(slsDir);
const resolveAjvValidate = require(path.join(slsDir, 'lib/classes/config-schema-handler/resolve-ajv-validate'));
const normalizeAjvErrors = require(path.join(slsDir, 'lib/classes/config-schema-handler/normalize-ajv-errors'));

// mulberry32: a small PRNG whose sequence does not cycle early.
const rnd = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (a) => a[Math.floor(rnd() * a.length)];

// Strings tried, in turn, against a pattern.
const pool = [
  'abc', 'my-service', 'my-bucket', 'dev', 'Fn1', 'VAR_1', 'team', 'Res1', '*', '/', '/x', 'GET', 'get',
  'GET /x', 'POST /items/{id}', 'rate(5 minutes)', 'rate(1 hour)', 'cron(0 12 * * ? *)',
  'arn:aws:sqs:us-east-1:123456789012:q', 'arn:aws:kms:us-east-1:123456789012:key/k', 'arn:aws:sns:us-east-1:123456789012:t',
  'arn:aws:secretsmanager:us-east-1:123456789012:secret:x', 'arn:aws:mq:us-east-1:123456789012:broker:b:b-1',
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/a/b/c',
  'arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0',
  'arn:aws:lambda:us-east-1:123456789012:layer:l', '123456789012', 's3:ObjectCreated:*', 'subnet-1', 'sg-1',
  '/mnt/data', 'application/json', 'origin-access-identity/cloudfront/E1', 'execute-api:/*', 'UPPER_1',
  'image1', '123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest', 'us-east-1', '/aws/lambda/x', '1.2.3', '200',
  'ABCDEF', './', '../', 'abcde1', 'Europe/Paris',
];

let schema;
const resolve = (s) => { while (s && s.$ref) s = s.$ref.split('/').slice(1).reduce((o, k) => o[k], schema); return s; };
const testPattern = (s, v) => {
  if (s.pattern && !new RegExp(s.pattern, 'u').test(v)) return false;
  if (s.regexp) { const m = /^\/(.*)\/([a-z]*)$/.exec(s.regexp); if (!new RegExp(m[1], m[2]).test(v)) return false; }
  if (s.minLength != null && v.length < s.minLength) return false;
  if (s.maxLength != null && v.length > s.maxLength) return false;
  return true;
};
const keyFor = (pattern) => pool.find((k) => new RegExp(pattern, 'u').test(k)) || 'k1';

function gen(s, depth) {
  s = resolve(s);
  if (!s || depth > 7) return 'abc';
  if (s.anyOf || s.oneOf) {
    const alt = pick(s.anyOf || s.oneOf);
    const base = Object.assign({}, s); delete base.anyOf; delete base.oneOf;
    return gen(Object.keys(base).length ? Object.assign({}, base, resolve(alt), { properties: Object.assign({}, base.properties, resolve(alt).properties), required: [...(base.required || []), ...(resolve(alt).required || [])] }) : alt, depth);
  }
  if ('const' in s) return s.const;
  if (s.enum) return pick(s.enum);
  let type = s.type;
  if (Array.isArray(type)) type = pick(type);
  if (!type) type = s.properties || s.patternProperties || s.additionalProperties ? 'object' : pick(['string', 'number', 'object']);
  switch (type) {
    case 'string': return pool.find((v) => testPattern(s, v) && rnd() < 0.7) || pool.find((v) => testPattern(s, v)) || 'abc';
    case 'integer': case 'number': {
      const lo = s.minimum != null ? s.minimum : 0; const hi = s.maximum != null ? s.maximum : lo + 100;
      return Math.floor(lo + rnd() * (hi - lo + 1));
    }
    case 'boolean': return rnd() < 0.5;
    case 'array': {
      const n = Math.max(s.minItems || 0, Math.floor(rnd() * 3));
      const items = [];
      for (let i = 0; i < Math.min(n, s.maxItems != null ? s.maxItems : n); i++) {
        items.push(gen(Array.isArray(s.items) ? s.items[i] || {} : s.items || {}, depth + 1));
      }
      return items;
    }
    case 'object': {
      const o = {};
      const req = new Set(s.required || []);
      for (const [k, v] of Object.entries(s.properties || {})) {
        if (req.has(k) || rnd() < 0.35) o[k] = gen(v, depth + 1);
      }
      for (const [p, v] of Object.entries(s.patternProperties || {})) if (rnd() < 0.5) o[keyFor(p)] = gen(v, depth + 1);
      if (s.additionalProperties && typeof s.additionalProperties === 'object' && rnd() < 0.5) o.extra1 = gen(s.additionalProperties, depth + 1);
      if (s.maxProperties != null) for (const k of Object.keys(o).slice(s.maxProperties)) delete o[k];
      return o;
    }
  }
  return null;
}

function mutate(config) {
  const places = [];
  const walk = (v, parent, key) => {
    if (parent && !['custom', 'resources'].includes(key)) places.push([parent, key]);
    if (key === 'custom' || key === 'resources') return;
    if (v && typeof v === 'object') for (const k of Object.keys(v)) walk(v[k], v, Array.isArray(v) ? Number(k) : k);
  };
  walk(config, null, null);
  if (!places.length) return;
  const [parent, key] = pick(places);
  switch (Math.floor(rnd() * 4)) {
    case 0: if (!Array.isArray(parent)) { parent[key + 'x'] = parent[key]; delete parent[key]; } break;
    case 1: parent[key] = 'zzz'; break;
    case 2: parent[key] = { k: 'v' }; break;
    case 3: parent[key] = 12345; break;
  }
}

const dropNulls = (v) => {
  if (Array.isArray(v)) { v.forEach(dropNulls); return; }
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { if (x == null) delete v[k]; else dropNulls(x); }
};

(async () => {
  const sls = new Serverless({
    commands: ['print'], options: {}, serviceDir: process.cwd(),
    configuration: { service: 'x', provider: { name: 'aws' } }, configurationFilename: 'serverless.yml',
    isConfigurationResolved: true, hasResolvedCommandsExternally: true, variablesMeta: new Map(),
  });
  await sls.init();
  schema = sls.configSchemaHandler.schema;
  const validate = await resolveAjvValidate(schema);
  const out = [];
  for (let i = 0; i < count; i++) {
    const config = gen(schema, 0);
    config.service = 'svc'; config.provider = Object.assign({}, config.provider, { name: 'aws' });
    delete config.configValidationMode;
    if (i % 4 !== 0) mutate(config);
    dropNulls(config);
    const text = JSON.stringify(config);
    const copy = JSON.parse(text);
    validate(copy);
    const errors = validate.errors ? normalizeAjvErrors(validate.errors).map((e) => e.message) : [];
    out.push(JSON.stringify({ config: JSON.parse(text), errors, coerced: copy }));
  }
  process.stdout.write(out.join('\n') + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
