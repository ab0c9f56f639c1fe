// Reads a JSON array of {configuration, options} on stdin, resolves each
// with serverless v3's own resolver (the env, file, opt, self, strToBool and
// sls sources) and prints [{config} | {error}]. Used by
// TestResolveMatchesV3OnGeneratedConfigs.
'use strict';
const path = require('path');
const resolve = require(path.join(process.argv[2], 'lib/configuration/variables'));
// v3 sometimes leaves a rejected promise unhandled (a crash in real runs);
// such cases are marked so the comparison skips them.
const crashed = new Set();
let current = -1;
process.on('unhandledRejection', () => { crashed.add(current); });
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', async () => {
  const out = [];
  for (const { configuration, options } of JSON.parse(input)) {
    current = out.length;
    // Some inputs leave v3 waiting forever (a value that refers to itself
    // through a resolved variable); they are marked as crashes too. These
    // sources do no I/O, so still pending after many event-loop turns is
    // pending for good.
    let turns = 0;
    let timer;
    const hang = new Promise((r) => {
      const spin = () => { if (++turns > 200) r('hang'); else timer = setImmediate(spin); };
      timer = setImmediate(spin);
    });
    try {
      const res = await Promise.race([resolve({ serviceDir: process.cwd(), configuration, options }), hang]);
      out.push(res === 'hang' ? { crash: true } : { config: configuration });
    } catch (e) {
      out.push({ error: e.message, config: configuration });
    }
    clearImmediate(timer);
  }
  await new Promise((r) => setImmediate(r));
  for (const i of crashed) if (out[i]) out[i].crash = true;
  process.stdout.write(JSON.stringify(out));
});
