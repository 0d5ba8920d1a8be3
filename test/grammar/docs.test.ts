import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';

test('docs/builtins.md is generated from the current builtin table', () => {
  const root = path.join(__dirname, '..', '..', '..');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { render } = require(path.join(root, 'scripts', 'gen-builtin-docs.js')) as { render: () => string };
  const committed = fs.readFileSync(path.join(root, 'docs', 'builtins.md'), 'utf8');
  assert.equal(committed, render(), 'run `node scripts/gen-builtin-docs.js` and commit docs/builtins.md');
});
