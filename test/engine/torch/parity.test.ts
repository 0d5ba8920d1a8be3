/**
 * Parity of the two engines: the same comparison (CE and focal, the same settings, 3 seeds) on
 * the tfjs engine (wasm) and on the torch engine (Debian's PyTorch, CPU) gives mean test
 * accuracies within 1.5 percentage points of each other, for the MLP and the ConvNet. The
 * engines draw weights, batches and dropout from different generators, so seed i is not the
 * same experiment across engines; the settings are long enough for the seed-to-seed spread to
 * be well under the tolerance (the table is printed with LOSSMITH_PARITY_REPORT=1).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { main, type Io } from '../../../engine/src/cli';
import type { CompareSummary } from '../../../protocol/run-events';
import { findTorchPython, skipUnless } from '../../export/python';
import { tmpDir } from '../../helpers/tmp';

const ROOT = path.join(__dirname, '..', '..', '..', '..');
const PY = findTorchPython();
const TOL_PP = 1.5;
const made: string[] = [];
process.env.LOSSMITH_DATA_CACHE = tmpDir('lossmith-parity-data-');
made.push(process.env.LOSSMITH_DATA_CACHE);
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function quietIo(): Io & { stderr: string } {
  const io = { stderr: '', out: () => undefined, err: (s: string) => void (io.stderr += s) };
  return io;
}

/** Long enough that the seed-to-seed spread is well under the tolerance (ConvNet: ~0.5 pp at 8 epochs, ~2 pp at 4). */
const SETTINGS: Record<string, string[]> = {
  mlp: ['--epochs', '4', '--lr', '3e-3'],
  convnet: ['--epochs', '8', '--lr', '1e-2'],
};

async function compare(engineArgs: string[], model: string, runs: string): Promise<CompareSummary> {
  const io = quietIo();
  const args = ['compare', path.join(ROOT, 'examples', 'focal.loss'), '--model', model, '--max-train', '4000', ...SETTINGS[model], '--batch-size', '64', '--seeds', '3', '--workers', '2', '--runs-dir', runs, ...engineArgs];
  const code = await main(args, io);
  assert.equal(code, 0, io.stderr);
  const dir = fs.readdirSync(runs).sort().pop()!;
  return JSON.parse(fs.readFileSync(path.join(runs, dir, 'summary.json'), 'utf8')) as CompareSummary;
}

for (const model of ['mlp', 'convnet']) {
  test(`parity: ${model}, CE and focal, 3 seeds: tfjs (wasm) and torch mean test accuracies within ${TOL_PP} pp`, { skip: skipUnless(PY, 'a Python with torch') }, async () => {
    const runs = tmpDir('lossmith-parity-');
    made.push(runs);
    const tfjs = await compare(['--engine', 'tfjs', '--backend', 'wasm'], model, path.join(runs, 'tfjs'));
    const torch = await compare(['--engine', 'torch', '--python', PY!, '--device', 'cpu'], model, path.join(runs, 'torch'));
    assert.equal(torch.backend?.name, 'torch');
    assert.equal(tfjs.backend?.name, 'wasm');
    const lines: string[] = [];
    for (const r of tfjs.results) {
      const o = torch.results.find((x) => x.loss === r.loss && x.augmentation === r.augmentation)!;
      const a = r.testAccuracy.mean!;
      const b = o.testAccuracy.mean!;
      lines.push(`${model} ${r.loss}: tfjs ${(100 * a).toFixed(2)}% ± ${(100 * r.testAccuracy.std!).toFixed(2)}, torch ${(100 * b).toFixed(2)}% ± ${(100 * o.testAccuracy.std!).toFixed(2)}, Δ ${(100 * (b - a)).toFixed(2)} pp`);
      assert.ok(Math.abs(100 * (a - b)) <= TOL_PP, lines.at(-1));
    }
    if (process.env.LOSSMITH_PARITY_REPORT) console.log(lines.join('\n'));
  });
}
