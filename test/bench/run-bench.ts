/**
 * `npm run bench -- run`: the cost of compiled DSL losses and the throughput of the worker pool.
 *
 * 1. Forward + backward of each compiled catalogue loss on [128, 10] logits (wasm), median ms,
 *    against a hand-written tfjs cross-entropy measured in the same run (the anchor).
 * 2. The same 4 MLP trainings (MNIST subset) in-process, on 1 worker and on 2 workers: wall time
 *    and speed-up (processes are the parallelism lever on CPU; see compute-leads.md).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../engine/src/engines/tfjs/backend';
import { compileSource } from '../../engine/src/engines/tfjs/compile';
import type { LossFn } from '../../engine/src/engines/tfjs/train';
import { WorkerPool, type TrainTask } from '../../engine/src/run/worker-pool';
import { Rng } from '../../engine/src/rng';

const EXAMPLES = path.join(__dirname, '..', '..', '..', 'examples');
const WORKER = path.join(__dirname, '..', '..', 'engine', 'src', 'run', 'worker-main.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function timeLoss(fn: LossFn, y: tf.Tensor2D, z: tf.Tensor2D, reps = 200): number {
  const g = tf.grad((zz: tf.Tensor) => tf.mean(fn(y, zz as tf.Tensor2D)));
  for (let i = 0; i < 20; i++) tf.tidy(() => g(z).dataSync());
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    tf.tidy(() => g(z).dataSync());
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

async function lossCost(): Promise<void> {
  await initBackend('wasm');
  const rng = new Rng(1);
  const n = 128;
  const k = 10;
  const z = tf.tensor2d(Array.from({ length: n }, () => Array.from({ length: k }, () => 2 * rng.normal())));
  const y = tf.oneHot(Array.from({ length: n }, () => rng.int(k)), k).toFloat() as tf.Tensor2D;
  const hand: LossFn = (yy, zz) => tf.neg(tf.sum(tf.mul(yy, tf.logSoftmax(zz)), 1)) as tf.Tensor1D;
  const anchor = timeLoss(hand, y, z as tf.Tensor2D);
  console.log(`Compiled loss, forward + backward on [${n}, ${k}] (wasm), median ms:`);
  console.log(`  ${'hand-written tfjs CE (anchor)'.padEnd(34)} ${anchor.toFixed(3)}`);
  const cases: [string, string][] = [
    ['cross-entropy.loss', 'ce'], ['focal.loss', 'focal'], ['label-smoothing.loss', 'label_smoothing'],
    ['taylor-ce.loss', 'taylor6'], ['bi-tempered.loss', 'bi_tempered'], ['seed-bessel.loss', 'seed_bessel'],
  ];
  for (const [file, loss] of cases) {
    const fn = compileSource(fs.readFileSync(path.join(EXAMPLES, file), 'utf8'), loss);
    const ms = timeLoss(fn, y, z as tf.Tensor2D);
    console.log(`  ${`${file}#${loss}`.padEnd(34)} ${ms.toFixed(3)}  (${(ms / anchor).toFixed(1)}x)`);
  }
  tf.dispose([y, z]);
}

function task(seed: number): TrainTask {
  return {
    kind: 'train',
    lossSource: fs.readFileSync(path.join(EXAMPLES, 'focal.loss'), 'utf8'),
    lossName: 'focal',
    backend: 'wasm',
    dataset: { spec: 'mnist', seed: 0, maxTrain: 2000 },
    augment: 'none',
    train: { model: { kind: 'mlp' }, epochs: 2, batchSize: 64, seed, lr: 3e-3 },
  };
}

async function poolThroughput(): Promise<void> {
  const seeds = [1, 2, 3, 4];
  console.log('\nWorker pool: 4 MLP trainings (MNIST 2000, 2 epochs, batch 64), wall time:');
  const rows: [string, number][] = [];
  for (const size of [0, 1, 2]) {
    const pool = new WorkerPool({ size, workerScript: WORKER });
    // Warm-up: start the workers and load the dataset once (not timed).
    await Promise.all(Array.from({ length: Math.max(1, size) }, (_, i) => pool.run({ ...task(100 + i), train: { ...task(0).train, epochs: 1, stepsPerEpoch: 1 } })));
    const t0 = performance.now();
    await Promise.all(seeds.map((s) => pool.run(task(s))));
    rows.push([size === 0 ? 'in-process' : `${size} worker${size === 1 ? '' : 's'}`, performance.now() - t0]);
    await pool.close();
  }
  const one = rows[1][1];
  for (const [label, ms] of rows) console.log(`  ${label.padEnd(12)} ${(ms / 1000).toFixed(1)} s  (${(one / ms).toFixed(2)}x vs 1 worker)`);
}

export async function runRunBench(): Promise<void> {
  await lossCost();
  await poolThroughput();
}

if (require.main === module) {
  runRunBench().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
