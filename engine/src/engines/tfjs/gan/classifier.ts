/**
 * The digit classifier behind the GAN metrics: the `lenet` model trained with cross-entropy on
 * the embedded digits' training split (`mnist`, data seed 0), once per setting and backend, and
 * cached on disk:
 *
 *   $LOSSMITH_CACHE (default ~/.lossmith/cache)/digit-classifier/<hash of the settings>.json
 *
 * (the settings, the backend it was trained on, its test accuracy and its weights as base64
 * float32). Workers that need it at the same time take a lock file (`.lock` beside it, holding
 * the pid): one trains, the others wait for the file. Its penultimate layer (dense 128 after
 * ReLU) is the feature space of the Fréchet distance (not Inception's), and its predictions
 * give the accuracy on generated digits.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import type { DigitClassifierJson } from '../../../compute/types';
import { cachedDataset } from '../../../data';
import type { Dataset } from '../../../data/types';
import { createModel, type Model } from '../models';
import { train, type LossFn } from '../train';
import { meanCov, type SymMatrix } from './frechet';

/** The classifier's defaults: the README's main job (98% on the test digits). */
export const DEFAULT_CLASSIFIER: DigitClassifierJson = { model: 'lenet', epochs: 3, batchSize: 32, lr: 1e-2, seed: 1 };
/** The dataset it is trained and its features are measured on. */
export const CLASSIFIER_DATA = { spec: 'mnist', seed: 0 } as const;
const FORMAT = 1;

export function cacheRoot(): string {
  return process.env.LOSSMITH_CACHE ?? path.join(os.homedir(), '.lossmith', 'cache');
}

export interface DigitClassifier {
  model: Model;
  file: string;
  trainedNow: boolean;
  testAccuracy: number;
  /** Features of the real test digits: mean and covariance. */
  real: { mean: Float64Array; cov: SymMatrix; count: number };
}

const ce: LossFn = (y, logits) => tf.tidy(() => tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1)) as tf.Tensor1D);

/** The cache file of a classifier setting on a backend. */
export function classifierFile(spec: DigitClassifierJson, backend: string): string {
  const key = JSON.stringify({ FORMAT, spec: [spec.model, spec.epochs, spec.batchSize, spec.lr, spec.seed], data: CLASSIFIER_DATA, backend });
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return path.join(cacheRoot(), 'digit-classifier', `lenet-${backend}-${hash}.json`);
}

interface CacheJson {
  format: number;
  spec: DigitClassifierJson;
  backend: string;
  testAccuracy: number;
  created: string;
  weights: { shape: number[]; data: string }[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readCache(file: string): CacheJson | undefined {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as CacheJson;
    return j.format === FORMAT && Array.isArray(j.weights) ? j : undefined;
  } catch {
    return undefined;
  }
}

let loaded: DigitClassifier | undefined;

/** Takes the lock (true), or finds it held by a live process (false); a dead holder's lock is taken over. */
function tryLock(lock: string): boolean {
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  let stale = false;
  try {
    const pid = Number(fs.readFileSync(lock, 'utf8'));
    const age = Date.now() - fs.statSync(lock).mtimeMs;
    stale = !(pid > 0) || !alive(pid) || age > 30 * 60_000;
  } catch {
    stale = true;
  }
  if (stale) fs.rmSync(lock, { force: true });
  return false;
}

/**
 * The classifier of `spec` on the current backend: from this process's memory, from the disk
 * cache, or trained now (and cached). `signal` stops the wait or the training.
 */
export async function digitClassifier(spec: DigitClassifierJson, backend: string, signal?: AbortSignal): Promise<DigitClassifier> {
  const file = classifierFile(spec, backend);
  if (loaded && loaded.file === file) return loaded;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lock = `${file}.lock`;
  let trainedNow = false;
  let cache = readCache(file);
  while (!cache) {
    if (signal?.aborted) throw new Error('cancelled while waiting for the digit classifier');
    if (tryLock(lock)) {
      try {
        cache = readCache(file) ?? (await trainClassifier(spec, backend, file, signal));
        trainedNow = true;
      } finally {
        fs.rmSync(lock, { force: true });
      }
    } else {
      await sleep(500);
      cache = readCache(file);
    }
  }
  const ds = cachedDataset({ ...CLASSIFIER_DATA });
  const model = createModel({ kind: 'lenet' }, ds.shape, ds.numClasses, spec.seed);
  const vars = model.trainableVariables;
  if (vars.length !== cache.weights.length) throw new Error(`${file}: ${cache.weights.length} weight arrays for ${vars.length} variables (delete the file to retrain)`);
  vars.forEach((v, i) => {
    const w = cache!.weights[i];
    const buf = Buffer.from(w.data, 'base64');
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    if (w.shape.join() !== v.shape.join() || data.length !== v.size) throw new Error(`${file}: weight ${i} is [${w.shape}], expected [${v.shape}] (delete the file to retrain)`);
    v.assign(tf.tensor(data, v.shape, 'float32'));
  });
  if (loaded) loaded.model.dispose();
  loaded = { model, file, trainedNow, testAccuracy: cache.testAccuracy, real: realStats(model, ds) };
  return loaded;
}

async function trainClassifier(spec: DigitClassifierJson, backend: string, file: string, signal?: AbortSignal): Promise<CacheJson> {
  const ds = cachedDataset({ ...CLASSIFIER_DATA });
  const r = await train({
    model: { kind: spec.model },
    dataset: ds,
    loss: ce,
    optimizer: { kind: 'adam' },
    lr: spec.lr,
    batchSize: spec.batchSize,
    epochs: spec.epochs,
    seed: spec.seed,
    testWith: 'best',
    keepModel: true,
    signal,
  });
  if (!r.model) throw new Error('internal: the classifier training kept no model');
  try {
    if (r.status !== 'completed' || r.testAcc === null) throw new Error(`the digit classifier's training ended ${r.status}${r.reason ? `: ${r.reason}` : ''}`);
    const j: CacheJson = {
      format: FORMAT,
      spec,
      backend,
      testAccuracy: r.testAcc,
      created: new Date().toISOString(),
      weights: r.model.trainableVariables.map((v) => {
        const a = v.dataSync() as Float32Array;
        return { shape: v.shape, data: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64') };
      }),
    };
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(j));
    fs.renameSync(tmp, file);
    return j;
  } finally {
    r.model.dispose();
  }
}

/** Penultimate-layer features [n, 128] of images (NHWC float32 in [0, 1]), in batches. */
export function featuresOf(model: Model, x: Float32Array, n: number, shape: [number, number, number], batch = 500): { features: Float32Array; dim: number; predictions: Int32Array } {
  const d = shape[0] * shape[1] * shape[2];
  let out: Float32Array | undefined;
  let dim = 0;
  const predictions = new Int32Array(n);
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    const [f, p] = tf.tidy(() => {
      const xb = tf.tensor4d(x.subarray(s * d, (s + m) * d), [m, ...shape]);
      const feats = model.features!(xb);
      const logits = model.apply(xb, false);
      return [feats, tf.argMax(logits, 1)];
    });
    const fd = f.dataSync() as Float32Array;
    dim = f.shape[1] as number;
    out ??= new Float32Array(n * dim);
    out.set(fd, s * dim);
    predictions.set(p.dataSync() as Int32Array, s);
    tf.dispose([f, p]);
  }
  return { features: out ?? new Float32Array(0), dim, predictions };
}

function realStats(model: Model, ds: Dataset): DigitClassifier['real'] {
  const { features, dim } = featuresOf(model, ds.test.x, ds.test.n, ds.shape);
  const { mean, cov } = meanCov(features, ds.test.n, dim);
  return { mean, cov, count: ds.test.n };
}
