#!/usr/bin/env node
'use strict';
// Runs the compiled tests with node's built-in runner. Default: every out/test/**/*.test.js
// except end-to-end suites (*.e2e.test.js); `--e2e`: only those. Extra arguments that are not
// flags filter files by substring (e.g. `node scripts/run-tests.js grammar`).
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..', 'out', 'test');
const args = process.argv.slice(2);
const e2e = args.includes('--e2e');
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else if (entry.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

if (!fs.existsSync(root)) {
  console.error('out/test does not exist: run `npx tsc -b` first');
  process.exit(2);
}
const files = walk(root, [])
  .filter((f) => f.endsWith('.e2e.test.js') === e2e)
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
