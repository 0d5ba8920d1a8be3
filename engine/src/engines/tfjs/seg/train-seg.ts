/**
 * One segmentation training of a `task segmentation` loss: a small U-Net (unet.ts) on the
 * dataset's images, its weights kept at the best validation Dice, then its metrics on the test
 * images.
 *
 * Order of work: the loss is compiled first (a bad file fails with its compile error before any
 * data is loaded or network built), then the data (once per process, `segTrainingData` in data/segmentation.ts), then the
 * network and Adam.
 *
 * Per step, on a batch of training images (a stream reshuffled every pass, as in train.ts):
 * logits = U-Net(x) reshaped [B, H*W, K], y = the one-hot masks [B, H*W, K] and, only when the
 * loss reads it, dist = the signed distance maps [B, H*W, K] (computed once per dataset);
 * Adam on the mean over the batch of the per-image loss, constant rate. A non-finite loss or
 * gradient ends the training as `nan` without applying the step.
 *
 * After every epoch: the mean training loss of its steps and the validation Dice and IoU
 * (argmax per pixel, segMetrics over the foreground classes), reported as `seg-epoch`; the
 * weights with the best validation Dice (the first epoch that reaches it) are kept, and the
 * test metrics (Dice, IoU, hd95) are computed with them at the end.
 *
 * Determinism: the initial weights and the data order come from streams derived from the seed
 * ('init'/'unet', 'order'), so every loss trained with a seed starts from the same network and
 * sees the same batches (seed-wise metrics pair up across losses), and a task run twice on one
 * backend gives the same numbers to the last digit.
 */
import * as tf from '@tensorflow/tfjs';
import { STEP_PROGRESS_MS, type SegEpochJson, type SegMetricsJson, type SegTask, type SegTaskResult, type TaskContext, type TrainStatus } from '../../../compute/types';
import { segTrainingData, type SegSplit } from '../../../data/segmentation';
import { segMetrics } from '../../../data/seg-metrics';
import { Rng } from '../../../rng';
import { compileImageSource, type ImageLossFn } from '../compile';
import { createOptimizer } from '../optim';
import { BatchStream } from '../train';
import { createUNet, type UNet } from './unet';

/** What trainSegmentation returns; the engine adds the backend and the process. */
export type SegRunOutcome = Omit<SegTaskResult, 'backend' | 'pid'>;

/** Images per forward pass when predicting validation and test masks. */
const EVAL_BATCH = 64;

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));


/** Per-pixel argmax of the network's logits over a split: class indices, n*H*W. */
export function predictMasks(net: UNet, split: SegSplit, H: number, W: number, channels: number): Int32Array {
  const px = H * W;
  const d = px * channels;
  const out = new Int32Array(split.n * px);
  for (let s = 0; s < split.n; s += EVAL_BATCH) {
    const m = Math.min(EVAL_BATCH, split.n - s);
    const t = tf.tidy(() => tf.argMax(net.apply(tf.tensor4d(split.images.subarray(s * d, (s + m) * d), [m, H, W, channels])), 3));
    out.set(t.dataSync() as Int32Array, s * px);
    t.dispose();
  }
  return out;
}

function snapshot(vars: tf.Variable[]): tf.Tensor[] {
  return vars.map((v) => tf.keep(tf.clone(v)));
}

/**
 * Trains `task` in this process on the current tfjs backend (`backendName`, the one the engine
 * initialised; the network and the loop are the same on every backend).
 */
export async function trainSegmentation(task: SegTask, backendName: string, ctx: TaskContext): Promise<SegRunOutcome> {
  const t0 = performance.now();
  // The loss first: a bad file fails with its compile error before anything is loaded or built.
  const loss: ImageLossFn = compileImageSource(task.lossSource, task.lossName, task.params);
  for (const [name, v] of [['batchSize', task.batchSize], ['epochs', task.epochs]] as const) {
    if (!Number.isInteger(v) || v < (name === 'epochs' ? 0 : 1)) throw new Error(`segmentation task: ${name} must be a whole number >= ${name === 'epochs' ? 0 : 1}, got ${v}`);
  }
  if (!(task.lr > 0)) throw new Error(`segmentation task: lr must be > 0, got ${task.lr}`);
  const needDist = loss.reads.has('dist');
  const data = segTrainingData(task.dataset, task.seg, needDist);
  const ds = data.ds;
  const { height: H, width: W, channels: CH, classes: K } = ds;
  if (ds.train.n === 0) throw new Error(`segmentation dataset ${ds.name} has no training images`);
  const P = H * W;
  const dataset: SegRunOutcome['dataset'] = { name: ds.name, height: H, width: W, channels: CH, classes: K, train: ds.train.n, val: ds.val.n, test: ds.test.n, foreground: data.foreground };

  const bs = Math.min(task.batchSize, ds.train.n);
  const stepsPerEpoch = task.stepsPerEpoch ?? Math.ceil(ds.train.n / bs);
  if (!Number.isInteger(stepsPerEpoch) || stepsPerEpoch < 1) throw new Error(`segmentation task: stepsPerEpoch must be a whole number >= 1, got ${stepsPerEpoch}`);
  const totalSteps = task.epochs * stepsPerEpoch;

  const net = createUNet({ channels: CH, classes: K, filters: task.seg.filters, seed: task.seed });
  const opt = createOptimizer({ kind: 'adam' }, net.vars);
  const stream = new BatchStream(ds.train.n, Rng.derive(task.seed, 'order'));
  const history: SegRunOutcome['history'] = [];
  let best: tf.Tensor[] | undefined;
  let bestValDice: number | null = null;
  let status: TrainStatus = 'completed';
  let reason: string | undefined;
  let step = 0;
  let lastProgress = -Infinity;
  const d = P * CH;
  const xs = new Float32Array(bs * d);
  const ys = new Float32Array(bs * P * K);
  const dists = needDist ? new Float32Array(bs * P * K) : undefined;

  /** Validation Dice and IoU of the current weights (null without validation images). */
  const validate = (): { dice: number | null; iou: number | null } => {
    if (ds.val.n === 0) return { dice: null, iou: null };
    const m = segMetrics(predictMasks(net, ds.val, H, W, CH), ds.val.masks, ds.val.n, H, W, K);
    return { dice: m.dice, iou: m.iou };
  };

  try {
    outer: for (let epoch = 1; epoch <= task.epochs; epoch++) {
      const te = performance.now();
      let lossSum = 0;
      for (let i = 0; i < stepsPerEpoch; i++, step++) {
        await yieldToLoop();
        if (ctx.signal.aborted) {
          status = 'cancelled';
          reason = 'cancelled';
          break outer;
        }
        const idx = stream.next(bs);
        ys.fill(0);
        for (let k = 0; k < bs; k++) {
          const j = idx[k];
          xs.set(ds.train.images.subarray(j * d, (j + 1) * d), k * d);
          const mask = ds.train.masks.subarray(j * P, (j + 1) * P);
          for (let q = 0; q < P; q++) ys[(k * P + q) * K + mask[q]] = 1;
          if (dists) dists.set(data.dist!.subarray(j * P * K, (j + 1) * P * K), k * P * K);
        }
        const r = tf.tidy(() => {
          const x = tf.tensor4d(xs, [bs, H, W, CH]);
          const y = tf.tensor3d(ys, [bs, P, K]);
          const dist = dists ? tf.tensor3d(dists, [bs, P, K]) : undefined;
          const res = tf.variableGrads(() => tf.mean(loss(y, tf.reshape(net.apply(x), [bs, P, K]) as tf.Tensor3D, dist)) as tf.Scalar, net.vars);
          const grads = net.vars.map((v) => res.grads[v.name]);
          const check = tf.addN([res.value, ...grads.map((g) => tf.sum(g))]).dataSync()[0];
          const value = res.value.dataSync()[0];
          if (!Number.isFinite(value) || !Number.isFinite(check)) return { value, what: !Number.isFinite(value) ? `loss is ${value}` : 'gradient is not finite' };
          opt.step(grads, task.lr);
          return { value, what: '' };
        });
        if (r.what) {
          status = 'nan';
          reason = `${r.what} at step ${step}`;
          break outer;
        }
        lossSum += r.value;
        const now = performance.now();
        if (now - lastProgress >= STEP_PROGRESS_MS) {
          lastProgress = now;
          ctx.progress({ kind: 'step', step: step + 1, steps: totalSteps, epoch, epochs: task.epochs });
        }
      }
      const val = validate();
      if (val.dice !== null && (bestValDice === null || val.dice > bestValDice)) {
        bestValDice = val.dice;
        if (best) tf.dispose(best);
        best = snapshot(net.vars);
      }
      const rec: SegEpochJson & { epoch: number; ms: number } = { epoch, loss: lossSum / stepsPerEpoch, valDice: val.dice, valIou: val.iou, ms: performance.now() - te };
      history.push(rec);
      ctx.progress({ kind: 'seg-epoch', epoch: rec });
    }

    let metrics: SegMetricsJson = { dice: null, iou: null, hd95: null };
    if (status === 'completed' && ds.test.n > 0) {
      if (best) net.vars.forEach((v, i) => v.assign(best![i]));
      const m = segMetrics(predictMasks(net, ds.test, H, W, CH), ds.test.masks, ds.test.n, H, W, K);
      metrics = { dice: m.dice, iou: m.iou, hd95: m.hd95 };
    }
    return { status, history, metrics, bestValDice, steps: step, wallMs: performance.now() - t0, dataset, ...(reason ? { reason } : {}) };
  } finally {
    if (best) tf.dispose(best);
    opt.dispose();
    net.dispose();
  }
}
