#!/usr/bin/env node
'use strict';
// Runs the compiled tests with node's built-in runner. Default: every out/test/**/*.test.js
// except the end-to-end suites; `--e2e`: the browser and code-server suites (*.e2e.test.js),
// one file at a time (each starts its own workbench or browser; two at once on 2 cores only
// make them slow); `--electron`: the @vscode/test-electron suite (*.electron.test.js), for
// machines that can download VS Code. Extra arguments that are not flags filter files by
// substring (e.g. `node scripts/run-tests.js grammar`).
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..', 'out', 'test');
const args = process.argv.slice(2);
const kind = args.includes('--e2e') ? '.e2e.test.js' : args.includes('--electron') ? '.electron.test.js' : '.test.js';
const special = ['.e2e.test.js', '.electron.test.js'];
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
  .filter((f) => (kind === '.test.js' ? !special.some((k) => f.endsWith(k)) : f.endsWith(kind)))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${kind === '.test.js' ? 2 : 1}`, ...files], { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
