import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { resolveConfig } from '../../../engine/src/evolve/config';
import { runEvolve } from '../../../engine/src/evolve/run';
import { main } from '../../../engine/src/cli';
import { readSummary } from '../../../store/run-store';
import { tmpDir } from '../../helpers/tmp';

const tmp = (): string => tmpDir('lossmith-evolve-real-');

test('a small real search: population 8, 30 children, tiny MLP on 300 MNIST images, two workers', async () => {
  const cfg = resolveConfig({
    population: 8,
    sample: 3,
    steps: 30,
    initialCandidates: 8,
    workers: 2,
    seed: 3,
    finalSeeds: 0,
    surrogate: {
      dataset: 'mnist',
      maxTrain: 300,
      maxVal: 200,
      model: { kind: 'mlp', hidden: [16] },
      backend: 'wasm',
      batchSize: 32,
      lr: 1e-2,
      stage1: { epochs: 1, stepsPerEpoch: 4, passRatio: 0.5 },
      stage2: { epochs: 1, stepsPerEpoch: 10 },
    },
  });
  const res = await runEvolve({ root: tmp(), config: cfg });
  const s = res.summary;
  assert.equal(s.status, 'done', s.error);
  assert.equal(s.backend, 'wasm');
  assert.ok(s.baselineFitness! > 0.15, `CE learns something (${s.baselineFitness})`);
  const search = s.searches[0];
  assert.equal(search.children, 30);
  assert.ok(search.best! >= search.initialBest!, `best ${search.best} >= initial best ${search.initialBest}`);
  assert.ok(s.best.length >= 1);
  assert.ok(s.evaluated >= 8);
});

test('lossmith evolve: flags like compare, plain output ends with the run folder, summary.json contract', async () => {
  const root = tmp();
  let out = '';
  let err = '';
  const code = await main(
    ['evolve', '--population', '2', '--sample', '1', '--steps', '2', '--workers', '0', '--seed', '1', '--root', root,
      '--dataset', 'mnist', '--model', 'mlp:8', '--max-train', '200', '--max-val', '100', '--epochs', '1', '--steps-per-epoch', '2', '--backend', 'wasm', '--top-k', '1', '--final-seeds', '2'],
    { out: (s) => (out += s), err: (s) => (err += s) },
  );
  assert.equal(code, 0, err);
  const lines = out.trim().split('\n');
  const dir = lines[lines.length - 1];
  assert.ok(fs.existsSync(path.join(dir, 'summary.json')), out);
  const s = readSummary(dir)!;
  assert.equal(s.kind, 'evolve');
  assert.equal(s.status, 'done');
  assert.equal(s.backend, 'wasm');
  assert.equal(typeof s.evaluated, 'number');
  assert.equal(typeof s.baselineFitness, 'number');
  assert.ok(typeof s.rejected === 'object');
  for (const b of s.best as { file: string; loss: string; fitness: number }[]) {
    assert.ok(fs.existsSync(path.join(dir, b.file)));
    assert.equal(typeof b.loss, 'string');
    assert.equal(typeof b.fitness, 'number');
  }
  const fin = s.final as { seeds: number[]; valAcc: number[]; ceValAcc: number[] }[];
  assert.equal(fin.length, 1);
  assert.deepEqual(fin[0].seeds, [2, 3]);
  assert.match(out, /re-trained #\d+ on 2 new seeds \(2,3\): (better than CE|worse than CE|no difference from CE detected|inconclusive)/);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.deepEqual(config.surrogate.model, { kind: 'mlp', hidden: [8] });
  assert.equal(config.surrogate.stage2.epochs, 1);
  // --runs-dir puts the run exactly there, as in compare
  const runsFolder = path.join(root, 'my-runs');
  let out2 = '';
  assert.equal(
    await main(['evolve', '--population', '2', '--sample', '1', '--steps', '0', '--workers', '0', '--runs-dir', runsFolder, '--model', 'mlp:8', '--max-train', '100', '--max-val', '50',
      '--epochs', '1', '--steps-per-epoch', '1', '--backend', 'wasm', '--final-seeds', '0'], { out: (s) => (out2 += s), err: () => undefined }),
    0,
  );
  assert.equal(path.dirname(out2.trim().split('\n').pop()!), runsFolder);
  // bad flags are usage errors
  err = '';
  assert.equal(await main(['evolve', '--population', 'x', '--root', root], { out: () => undefined, err: (s) => (err += s) }), 2);
  assert.match(err, /--population/);
});

test('the JSON schema names every config field resolveConfig accepts', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', '..', 'schemas', 'evolve.schema.json'), 'utf8'));
  const cfg = resolveConfig({});
  for (const k of Object.keys(cfg)) assert.ok(k in schema.properties, `schema lacks ${k}`);
  for (const k of Object.keys(cfg.surrogate)) assert.ok(k in schema.properties.surrogate.properties, `schema lacks surrogate.${k}`);
  assert.throws(() => resolveConfig({ populaton: 3 } as never), /populaton is not a known field/);
  assert.throws(() => resolveConfig({ functionSet: { unary: ['nosuch'] } }), /functionSet/);
  assert.equal(cfg.functionSet.unary.length, 27);
  assert.equal(cfg.functionSet.binary.length, 7);
});
