'use strict';
// For each range in the file argv[3] (one per line, JSON-quoted), prints
// whether node-semver (as serverless v3 resolves it from argv[2]) accepts
// the range and whether 3.40.0 satisfies it: "valid satisfied" as 0/1.
const semver = require(require.resolve('semver', { paths: [process.argv[2]] }));
const lines = require('fs').readFileSync(process.argv[3], 'utf8').split('\n').filter(Boolean);
const out = lines.map((l) => {
  const r = JSON.parse(l);
  const valid = semver.validRange(r) !== null;
  const ok = valid && semver.satisfies(semver.coerce('3.40.0').raw, r);
  return `${valid ? 1 : 0} ${ok ? 1 : 0}`;
});
process.stdout.write(out.join('\n') + '\n');
