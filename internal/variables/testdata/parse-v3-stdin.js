// Reads a JSON array of strings on stdin and prints, for each, what
// serverless v3's parser makes of it ({result} or {error}). Used by
// TestParseMatchesV3OnGeneratedStrings.
'use strict';
const path = require('path');
const parse = require(path.join(process.argv[2], 'lib/configuration/variables/parse'));
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((s) => {
    try { return { result: parse(s) }; } catch (e) { return { error: e.message }; }
  });
  process.stdout.write(JSON.stringify(out));
});
