#!/usr/bin/env node
'use strict';
// `npm run fuzz`: the long fuzz of the DSL core, after `npm test` in CI. 100,000 inputs (mutated
// catalogue files, deep nesting around and far past the limit, long chains of `^ - + * /`, calls
// and arguments, chains of lets, random bytes, catalogue files with such parts spliced in; see
// test/helpers/fuzz-inputs.ts), then the huge ones: a 1,000,000-line file and 5 MB of random
// bytes. Every input: parse + check never throw, no internal error, every diagnostic inside the
// text, one syntax error at most per statement. Prints the count and the time; exits 1 at the
// first broken invariant (the input goes to a file under the system's temporary folder).
// Options: --count N (default 100000), --seed S, --no-huge.
const fs = require('fs');
const os = require('os');
const path = require('path');

const out = path.join(__dirname, '..', 'out', 'test');
if (!fs.existsSync(out)) {
  console.error('out/test does not exist: run `npx tsc -b` first');
  process.exit(2);
}
const { fuzz, checkInput } = require(path.join(out, 'helpers', 'fuzz-inputs.js'));
const { generatedFile } = require(path.join(out, 'bench', 'grammar-bench.js'));

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? Number(args[i + 1]) : fallback;
};
const count = option('--count', 100000);
const seed = option('--seed', 20261123);

function fail(e) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lossmith-fuzz-')), 'failure.txt');
  fs.writeFileSync(file, String(e && e.stack ? e.stack : e));
  console.error(`fuzz: FAILED (details in ${file})\n${String(e && e.message ? e.message : e).slice(0, 2000)}`);
  process.exit(1);
}

try {
  const t0 = Date.now();
  const stats = fuzz(count, seed, { onProgress: (n) => console.log(`  ${n} inputs, ${((Date.now() - t0) / 1000).toFixed(0)} s`) });
  const kinds = Object.entries(stats.byKind).map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(`fuzz: ${stats.inputs} inputs in ${(stats.ms / 1000).toFixed(1)} s (${kinds}); ${stats.withErrors} with errors, ${stats.derived} losses differentiated; slowest ${stats.slowest.ms.toFixed(0)} ms (${stats.slowest.kind}, ${stats.slowest.length} chars)`);
  if (!args.includes('--no-huge')) {
    for (const [what, make] of [
      ['1,000,000 generated lines', () => generatedFile(1000000)],
      ['5 MB of random bytes', () => {
        let s = seed;
        const b = Buffer.alloc(5 * 1024 * 1024);
        for (let i = 0; i < b.length; i++) b[i] = (s = (s * 1103515245 + 12345) & 0x7fffffff) & 255;
        return b.toString('latin1');
      }],
    ]) {
      const text = make();
      const t = Date.now();
      const r = checkInput(text);
      console.log(`fuzz: ${what} (${(text.length / 1e6).toFixed(1)} M chars): checked in ${((Date.now() - t) / 1000).toFixed(1)} s, ${r.diagnostics.length} diagnostics`);
    }
  }
} catch (e) {
  fail(e);
}
