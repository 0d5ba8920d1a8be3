/**
 * The training loop: one model, one loss, one seed.
 *
 * Reproducibility: initial weights, data order, dropout masks and augmentation draws each
 * come from their own Rng derived from `seed`, so two losses trained with the same seed see
 * the same initial weights and the same batches (augmentation draws stay aligned as long as
 * the augmentation's draws do not depend on the model). Given a seed, a run is bit-for-bit
 * repeatable on a given backend.
 *
 * Data: a continuous stream over the (first `maxTrain`) training examples, reshuffled on
 * every pass, cut into full batches; an "epoch" is `stepsPerEpoch` steps (default: one pass).
 */
import * as tf from '@tensorflow/tfjs';
import type { Augment, Batch } from '../../augment/types';
import type { EpochRecord, SamSpec, TrainSpec, TrainStatus } from '../../compute/types';
import type { Dataset, Split } from '../../data/types';
import { createModel, type Model } from './models';
import { createOptimizer } from './optim';
import { Rng } from '../../rng';

/** Per-sample loss: y [N,K] targets (rows sum to 1, may be soft), logits [N,K] -> [N]. */
export type LossFn = (y: tf.Tensor2D, logits: tf.Tensor2D) => tf.Tensor1D;

export interface SamOptions extends SamSpec {
  /**
   * A separate loss to perturb with (AACE style). With it the step is w <- w - rho*g_p
   * (g_p = grad of the perturbation loss; normalised by ||g_p|| only if `normalize`);
   * without it, standard SAM: w <- w + rho*g/||g|| with the training loss.
   */
  perturbLoss?: LossFn;
}

export interface StepInfo {
  epoch: number;
  /** Global step index (0-based). */
  step: number;
  trainLoss: number;
  trainAcc: number;
  /** Last epoch's validation accuracy (null before the first epoch ends). */
  valAcc: number | null;
  lr: number;
  /** Wall time of this step (onStep) or epoch including validation (onEpoch). */
  ms: number;
}

export type { EpochRecord, TrainStatus } from '../../compute/types';

/** The compute interface's TrainSpec with the loss, data and augmentation as live objects. */
export interface TrainOptions extends Omit<TrainSpec, 'sam'> {
  dataset: Dataset;
  loss: LossFn;
  augment?: Augment;
  /** Use only the first maxTrain training examples. */
  maxTrain?: number;
  sam?: SamOptions;
  signal?: AbortSignal;
  /** After each step, with the steps of the whole training. */
  onStep?: (s: StepInfo, totalSteps: number) => void;
  onEpoch?: (s: StepInfo) => void;
  /** Skip the final test evaluation. */
  skipTest?: boolean;
  evalBatchSize?: number;
  /** Return the trained model (caller must dispose it) instead of disposing it. */
  keepModel?: boolean;
}

export interface TrainResult {
  status: TrainStatus;
  /** Finished epochs only. */
  history: EpochRecord[];
  bestValAcc: number;
  /** 1-based epoch of bestValAcc (0 if none). */
  bestEpoch: number;
  /** Test accuracy, null when cancelled, skipped, or no weights worth testing. */
  testAcc: number | null;
  /** Which weights testAcc was measured with. */
  testWeights: 'best' | 'final';
  steps: number;
  wallMs: number;
  /** Human-readable reason for a non-completed status. */
  reason?: string;
  model?: Model;
}

export function learningRate(step: number, total: number, peak: number, warmupFrac: number, schedule: 'cosine' | 'constant'): number {
  const warm = Math.round(warmupFrac * total);
  if (step < warm) return (peak * (step + 1)) / warm;
  if (schedule === 'constant') return peak;
  const span = Math.max(1, total - warm);
  return 0.5 * peak * (1 + Math.cos((Math.PI * (step - warm)) / span));
}

export class BatchStream {
  private order: Int32Array;
  private pos = 0;
  constructor(private n: number, private rng: Rng) {
    this.order = new Int32Array(n);
    for (let i = 0; i < n; i++) this.order[i] = i;
    rng.shuffle(this.order);
  }
  next(bs: number): Int32Array {
    const out = new Int32Array(bs);
    for (let i = 0; i < bs; i++) {
      if (this.pos >= this.n) {
        this.rng.shuffle(this.order);
        this.pos = 0;
      }
      out[i] = this.order[this.pos++];
    }
    return out;
  }
}

function makeBatch(split: Split, idx: Int32Array, shape: [number, number, number], k: number): Batch {
  const d = shape[0] * shape[1] * shape[2];
  const x = new Float32Array(idx.length * d);
  const y = new Float32Array(idx.length * k);
  for (let i = 0; i < idx.length; i++) {
    const j = idx[i];
    x.set(split.x.subarray(j * d, (j + 1) * d), i * d);
    y[i * k + split.labels[j]] = 1;
  }
  return { x, y, n: idx.length, shape, numClasses: k };
}

/** Fraction of `split` (first `max` examples) classified correctly. */
export function evaluate(model: Model, split: Split, max?: number, batchSize = 500): number {
  const n = Math.min(split.n, max ?? split.n);
  if (n === 0) return NaN;
  const [h, w, c] = model.inputShape;
  const d = h * w * c;
  let correct = 0;
  for (let s = 0; s < n; s += batchSize) {
    const m = Math.min(batchSize, n - s);
    const pred = tf.tidy(() => {
      const x = tf.tensor4d(split.x.subarray(s * d, (s + m) * d), [m, h, w, c]);
      return tf.argMax(model.apply(x, false), 1);
    });
    const p = pred.dataSync();
    pred.dispose();
    for (let i = 0; i < m; i++) if (p[i] === split.labels[s + i]) correct++;
  }
  return correct / n;
}

function snapshot(vars: tf.Variable[]): tf.Tensor[] {
  return vars.map((v) => tf.keep(tf.clone(v)));
}

function restore(vars: tf.Variable[], snap: tf.Tensor[]): void {
  vars.forEach((v, i) => v.assign(snap[i]));
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const ds = opts.dataset;
  const k = ds.numClasses;
  const shape = ds.shape;
  const nTrain = Math.min(ds.train.n, opts.maxTrain ?? ds.train.n);
  if (nTrain === 0) throw new Error('no training data');
  const bs = Math.min(opts.batchSize ?? 128, nTrain);
  const stepsPerEpoch = opts.stepsPerEpoch ?? Math.ceil(nTrain / bs);
  const totalSteps = opts.epochs * stepsPerEpoch;
  const peak = opts.lr ?? 1e-3;
  const warmup = opts.warmup ?? 0.1;
  const schedule = opts.schedule ?? 'cosine';
  const testWith = opts.testWith ?? 'best';

  const model = createModel(opts.model, shape, k, opts.seed);
  const vars = model.trainableVariables;
  const allVars = [...vars, ...model.stateVariables];
  const optimizer = createOptimizer(opts.optimizer ?? { kind: 'adam' }, vars);
  const stream = new BatchStream(nTrain, Rng.derive(opts.seed, 'order'));
  const dropRng = Rng.derive(opts.seed, 'dropout');
  const augRng = Rng.derive(opts.seed, 'augment');
  const sam = opts.sam;
  const samNormalize = sam ? (sam.normalize ?? !sam.perturbLoss) : false;

  const history: EpochRecord[] = [];
  let best: tf.Tensor[] | undefined;
  let bestValAcc = NaN;
  let bestEpoch = 0;
  let status: TrainStatus = 'completed';
  let reason: string | undefined;
  let step = 0;
  let lastVal: number | null = null;

  /** Forward + gradient; returns grads and [objective, trainLoss, correct] (kept tensors). */
  const gradPass = (x: tf.Tensor, y: tf.Tensor2D, objective: LossFn, updateStats: boolean, rng: Rng) => {
    let report: tf.Tensor | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.apply(x, true, { rng, updateStats });
      const obj = tf.mean(objective(y, logits)) as tf.Scalar;
      const trainLoss = objective === opts.loss ? obj : tf.mean(opts.loss(y, logits));
      const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(y, 1)), 'float32'));
      report = tf.keep(tf.stack([obj, trainLoss, correct]));
      return obj;
    }, vars);
    value.dispose();
    return { grads: vars.map((v) => grads[v.name]), report: report! };
  };

  const sumSquares = (ts: tf.Tensor[]): tf.Scalar => tf.addN(ts.map((t) => tf.sum(tf.square(t)))) as tf.Scalar;

  try {
    outer: for (let epoch = 1; epoch <= opts.epochs; epoch++) {
      const te = performance.now();
      let lossSum = 0;
      let correctSum = 0;
      let seen = 0;
      let lr = 0;
      for (let s = 0; s < stepsPerEpoch; s++, step++) {
        await yieldToLoop();
        if (opts.signal?.aborted) {
          status = 'cancelled';
          reason = 'cancelled';
          break outer;
        }
        const ts = performance.now();
        lr = learningRate(step, totalSteps, peak, warmup, schedule);
        let batch = makeBatch(ds.train, stream.next(bs), shape, k);
        if (opts.augment) batch = opts.augment(batch, augRng);
        const x = tf.tensor4d(batch.x, [batch.n, ...shape]);
        const y = tf.tensor2d(batch.y, [batch.n, k]);
        let stats: Float32Array | Int32Array | Uint8Array;
        try {
          if (!sam) {
            const { grads, report } = gradPass(x, y, opts.loss, true, dropRng);
            const gn = tf.tidy(() => tf.concat([report.slice([1], [2]), tf.reshape(sumSquares(grads), [1])]));
            stats = gn.dataSync(); // [trainLoss, correct, |g|^2]
            tf.dispose([gn, report]);
            if (Number.isFinite(stats[0]) && Number.isFinite(stats[2])) optimizer.step(grads, lr);
            tf.dispose(grads);
          } else {
            // SAM: gradient at w, perturb, gradient of the training loss at the perturbed
            // weights (same batch, same dropout mask, no BN-statistics update), restore, step.
            const dropState = dropRng.state();
            const first = gradPass(x, y, sam.perturbLoss ?? opts.loss, true, dropRng);
            const r1 = first.report.dataSync(); // [objective, trainLoss, correct]
            first.report.dispose();
            let gsq = NaN;
            if (Number.isFinite(r1[0])) {
              const orig = snapshot(vars);
              tf.tidy(() => {
                const g = first.grads;
                const scaled = sam.adaptive ? g.map((gi, i) => tf.mul(gi, tf.abs(vars[i]))) : g;
                let coef = sam.perturbLoss ? -sam.rho : sam.rho;
                if (samNormalize) coef /= Math.sqrt(sumSquares(scaled).dataSync()[0]) + 1e-12;
                vars.forEach((v, i) => {
                  const e = sam.adaptive ? tf.mul(scaled[i], tf.abs(v)) : g[i]; // ASAM: w^2 * g
                  v.assign(tf.add(v, tf.mul(e, coef)));
                });
              });
              const second = gradPass(x, y, opts.loss, false, new Rng(dropState));
              restore(vars, orig);
              tf.dispose(orig);
              second.report.dispose();
              const g2 = tf.tidy(() => sumSquares(second.grads));
              gsq = g2.dataSync()[0];
              g2.dispose();
              if (Number.isFinite(gsq)) optimizer.step(second.grads, lr);
              tf.dispose(second.grads);
            }
            tf.dispose(first.grads);
            // Reported loss/accuracy: the training loss at the unperturbed weights.
            stats = new Float32Array([Number.isFinite(r1[0]) ? r1[1] : r1[0], r1[2], gsq]);
          }
        } finally {
          x.dispose();
          y.dispose();
        }
        const [lossV, correct, gsq] = [stats[0], stats[1], stats[2]];
        if (!Number.isFinite(lossV) || !Number.isFinite(gsq)) {
          status = 'nan';
          reason = !Number.isFinite(lossV) ? `loss is ${lossV} at step ${step}` : `gradient is not finite at step ${step}`;
          break outer;
        }
        lossSum += lossV * batch.n;
        correctSum += correct;
        seen += batch.n;
        opts.onStep?.({ epoch, step, trainLoss: lossV, trainAcc: correct / batch.n, valAcc: lastVal, lr, ms: performance.now() - ts }, totalSteps);
      }
      const valAcc = evaluate(model, ds.val, opts.maxVal, opts.evalBatchSize);
      lastVal = valAcc;
      const rec: EpochRecord = { epoch, trainLoss: lossSum / seen, trainAcc: correctSum / seen, valAcc, lr, ms: performance.now() - te };
      history.push(rec);
      if (valAcc > bestValAcc || (Number.isNaN(bestValAcc) && !Number.isNaN(valAcc))) {
        bestValAcc = valAcc;
        bestEpoch = epoch;
        if (testWith === 'best') {
          if (best) tf.dispose(best);
          best = snapshot(allVars);
        }
      }
      opts.onEpoch?.({ epoch, step: step - 1, trainLoss: rec.trainLoss, trainAcc: rec.trainAcc, valAcc, lr, ms: rec.ms });
      const es = opts.earlyStop;
      if (es && epoch >= es.afterEpochs && rec.trainAcc < es.minTrainAcc && epoch < opts.epochs) {
        status = 'early-stopped';
        reason = `training accuracy ${rec.trainAcc.toFixed(3)} < ${es.minTrainAcc} after epoch ${epoch}`;
        break;
      }
    }

    let testAcc: number | null = null;
    let testWeights: 'best' | 'final' = testWith;
    if (testWith === 'best' && !best) testWeights = 'final';
    const finalUsable = status !== 'nan' || history.length > 0;
    if (status !== 'cancelled' && !opts.skipTest && ds.test.n > 0) {
      if (testWeights === 'best' && best) {
        restore(allVars, best);
        testAcc = evaluate(model, ds.test, undefined, opts.evalBatchSize);
      } else if (finalUsable) {
        testAcc = evaluate(model, ds.test, undefined, opts.evalBatchSize);
      }
    }
    return {
      status,
      history,
      bestValAcc,
      bestEpoch,
      testAcc,
      testWeights,
      steps: step,
      wallMs: performance.now() - t0,
      ...(reason ? { reason } : {}),
      ...(opts.keepModel ? { model } : {}),
    };
  } finally {
    if (best) tf.dispose(best);
    optimizer.dispose();
    if (!opts.keepModel) model.dispose();
  }
}
