/**
 * The runner's own Python tests (engine/torch/tests, unittest), run with the Python that has
 * torch: task validation, readers, augmentations against pixel ports of the tfjs engine's,
 * models, the training loop (determinism, NaN, SAM/AACE, the lagged finite check), serve mode.
 * Each Python test is reported as a subtest here, so the runner's count is in the closing lines.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { runnerEnv } from '../../../engine/src/engines/torch/python';
import { findTorchPython, skipUnless } from '../../export/python';

const PY = findTorchPython();
const TORCH_DIR = path.join(__dirname, '..', '..', '..', '..', 'engine', 'torch');

test('the runner package: python -m unittest (engine/torch/tests)', { skip: skipUnless(PY, 'a Python with torch') }, async (t) => {
  const r = spawnSync(PY!, ['-m', 'unittest', 'discover', '-v', '-s', path.join(TORCH_DIR, 'tests')], {
    cwd: TORCH_DIR,
    env: runnerEnv(),
    encoding: 'utf8',
    timeout: 600_000,
  });
  // unittest -v writes one line per test: "test_name (module.Class) ... ok|FAIL|ERROR|skipped"
  const rows = [...r.stderr.matchAll(/^(\w+) \(([\w.]+)\)(?:\n.*?)? \.\.\. (ok|FAIL|ERROR|skipped.*|expected failure)$/gm)];
  assert.ok(rows.length >= 40, `expected the runner's tests, found ${rows.length}:\n${r.stderr.slice(-3000)}`);
  for (const [, name, where, verdict] of rows) {
    await t.test(`${where}.${name}`, () => {
      assert.ok(verdict === 'ok', `${verdict}\n${r.stderr.slice(-4000)}`);
    });
  }
  assert.equal(r.status, 0, r.stderr.slice(-4000));
});
