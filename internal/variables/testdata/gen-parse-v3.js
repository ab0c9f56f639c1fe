// Regenerates parse-v3.json: serverless v3's own parser output for every
// string in parse-inputs.txt plus every "${" string of the public corpus.
// Run from the repo root: node internal/variables/testdata/gen-parse-v3.js
'use strict';
const fs = require('fs');
const path = require('path');
const sls = path.resolve('tools/node_modules/serverless');
const parse = require(path.join(sls, 'lib/configuration/variables/parse'));
const yaml = require(path.join(path.resolve('tools/node_modules'), 'js-yaml'));
const schema = require(path.join(path.resolve('tools/node_modules/@serverless/utils'), 'cloudformation-schema'));

const inputs = fs.readFileSync(path.join(__dirname, 'parse-inputs.txt'), 'utf8')
  .split('\n').filter((l) => l && !l.startsWith('#')).map((l) => JSON.parse(l));
const corpus = '/work/shared/corpus/public';
const seen = new Set(inputs);
const walk = (v) => {
  if (typeof v === 'string') { if (v.includes('${') && !seen.has(v)) { seen.add(v); inputs.push(v); } return; }
  if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
};
if (fs.existsSync(corpus)) {
  for (const name of fs.readdirSync(corpus).sort()) {
    const f = path.join(corpus, name, 'serverless.yml');
    if (!fs.existsSync(f)) continue;
    try { walk(yaml.load(fs.readFileSync(f, 'utf8'), { schema })); } catch (e) { /* not our concern here */ }
  }
}
const out = inputs.map((input) => {
  try { return { input, result: parse(input) }; } catch (e) { return { input, error: e.message }; }
});
fs.writeFileSync(path.join(__dirname, 'parse-v3.json'), '[\n' + out.map((o) => JSON.stringify(o)).join(',\n') + '\n]\n');
console.log(`${out.length} cases`);
