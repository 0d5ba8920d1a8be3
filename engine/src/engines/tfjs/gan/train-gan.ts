/**
 * One GAN training of a `task gan` pair (NAME_g, NAME_d) on the digits, and its metrics.
 *
 * Per step, on a batch of real digits x with labels y (a stream reshuffled every pass, as in
 * train.ts) and latent codes z ~ N(0, I) for the same labels:
 *   1. D step: fake = G(z, y) (held fixed); d_real = D(x, y), d_fake = D(fake, y) and, when the
 *      loss reads it, grad_norm = ||grad_x^ D(x^, y)|| at x^ = e x + (1 - e) fake, e ~ U(0, 1)
 *      per sample (a gradient of a gradient, tfjs's nested tapes); Adam on mean(NAME_d).
 *   2. G step: d_fake = D(G(z, y), y) (and d_real, grad_norm when NAME_g reads them); Adam on
 *      mean(NAME_g).
 * With `gan.clip` (WGAN), every discriminator weight is clipped to [-clip, clip] after its step.
 * Adam with the DCGAN settings (lr 2e-4, beta1 0.5 by default), constant rate. A non-finite loss
 * or gradient ends the training as `nan` without applying the step.
 *
 * Determinism: initial weights, data order, z and labels, interpolation weights, and the
 * generated digits of the metrics each come from their own stream derived from the seed, so
 * every pair trained with a seed starts from the same networks and sees the same batches and
 * codes: seed-wise metrics pair up across losses.
 *
 * Metrics (classifier.ts): `samplesPerClass` digits of each class generated from fixed codes;
 * FD between the classifier's features of them and of the real test digits (a Fréchet distance
 * in a digit classifier's feature space, not Inception FID), and the classifier's accuracy on
 * them (target: the class each was generated for), overall and per class. After every epoch a
 * quick version on 50 digits per class is reported.
 */
import * as tf from '@tensorflow/tfjs';
import { STEP_PROGRESS_MS, type GanEpochJson, type GanMetricsJson, type GanTask, type TaskContext, type TrainStatus } from '../../../compute/types';
import { cachedDataset } from '../../../data';
import { Rng } from '../../../rng';
import { compileGanSource, type GanInputs, type GanLossFn } from '../compile';
import { createOptimizer } from '../optim';
import { BatchStream } from '../train';
import { digitClassifier, featuresOf, type DigitClassifier } from './classifier';
import { frechetDistance, meanCov } from './frechet';
import { createGanNets, type GanNets } from './nets';
import type { Ctx } from '../models/layers';

const CLASSES = 10;

export interface GanRunOutcome {
  status: TrainStatus;
  history: (GanEpochJson & { epoch: number; ms: number })[];
  metrics: GanMetricsJson;
  steps: number;
  wallMs: number;
  reason?: string;
  classifier: { file: string; trainedNow: boolean; testAccuracy: number };
  dataset: { name: string; train: number; val: number; test: number; classes: number };
}

const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

function oneHot(labels: ArrayLike<number>): tf.Tensor2D {
  const n = labels.length;
  const a = new Float32Array(n * CLASSES);
  for (let i = 0; i < n; i++) a[i * CLASSES + labels[i]] = 1;
  return tf.tensor2d(a, [n, CLASSES]);
}

function normals(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

/** WGAN's weight clipping: every weight in [-c, c], which keeps the critic (roughly) Lipschitz. */
export function clipWeights(vars: readonly tf.Variable[], c: number): void {
  tf.tidy(() => {
    for (const v of vars) v.assign(tf.clipByValue(v, -c, c));
  });
}

/** grad_norm: ||grad_x D(x, y)|| per sample at the interpolates, differentiable (nested tapes). */
export function gradNorm(nets: GanNets, real: tf.Tensor4D, fake: tf.Tensor4D, eps: tf.Tensor4D, labels: tf.Tensor2D): tf.Tensor1D {
  const xHat = tf.add(tf.mul(real, eps), tf.mul(fake, tf.sub(1, eps))) as tf.Tensor4D;
  const g = tf.grad((x: tf.Tensor) => tf.sum(nets.discriminate(x as tf.Tensor4D, labels)))(xHat);
  return tf.sqrt(tf.add(tf.sum(tf.square(g), [1, 2, 3]), 1e-12)) as tf.Tensor1D;
}

/** Generated digits: `perClass` of each class from the seed's fixed codes; x in [0, 1] NHWC. */
function generateDigits(nets: GanNets, zDim: number, perClass: number, seed: number): { x: Float32Array; labels: Int32Array } {
  const n = perClass * CLASSES;
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % CLASSES;
  const z = normals(Rng.derive(seed, 'gan-eval-z'), n * zDim);
  const x = new Float32Array(n * 28 * 28);
  const ctx: Ctx = { training: true, rng: new Rng(0), updateStats: false }; // batch statistics, no update
  const B = 100;
  for (let s = 0; s < n; s += B) {
    const m = Math.min(B, n - s);
    const t = tf.tidy(() => nets.generate(tf.tensor2d(z.subarray(s * zDim, (s + m) * zDim), [m, zDim]), oneHot(labels.subarray(s, s + m)), ctx));
    x.set(t.dataSync() as Float32Array, s * 28 * 28);
    t.dispose();
  }
  return { x, labels };
}

/** FD and accuracies of generated digits under the classifier. */
export function ganMetrics(nets: GanNets, zDim: number, perClass: number, seed: number, clf: DigitClassifier): GanMetricsJson {
  const { x, labels } = generateDigits(nets, zDim, perClass, seed);
  return ganMetricsOf(x, labels, clf);
}

/**
 * FD and accuracies of generated digits x (28x28x1 each, NHWC float32 in [0, 1]), image i made
 * for class labels[i], under the classifier: the one implementation of the GAN metrics (the
 * torch engine computes them with it from the digits its runner sends).
 */
export function ganMetricsOf(x: Float32Array, labels: Int32Array, clf: DigitClassifier): GanMetricsJson {
  const n = labels.length;
  const { features, dim, predictions } = featuresOf(clf.model, x, n, [28, 28, 1]);
  let fd: number | null = null;
  let finite = true;
  for (let i = 0; i < features.length && finite; i++) finite = Number.isFinite(features[i]);
  if (finite) {
    const g = meanCov(features, n, dim);
    fd = frechetDistance(clf.real.mean, clf.real.cov, g.mean, g.cov);
  }
  const right = new Array<number>(CLASSES).fill(0);
  const count = new Array<number>(CLASSES).fill(0);
  for (let i = 0; i < n; i++) {
    count[labels[i]]++;
    if (predictions[i] === labels[i]) right[labels[i]]++;
  }
  const total = right.reduce((a, b) => a + b, 0);
  return {
    fd: fd !== null && Number.isFinite(fd) ? fd : null,
    genAccuracy: total / n,
    perClassAccuracy: right.map((r, c) => (count[c] ? r / count[c] : null)),
    classifierAccuracy: clf.testAccuracy,
  };
}

export async function trainGan(task: GanTask, backendName: string, ctx: TaskContext): Promise<GanRunOutcome> {
  const t0 = performance.now();
  const s = task.gan;
  const gLoss: GanLossFn = compileGanSource(task.lossSource, task.gLoss, task.params);
  const dLoss: GanLossFn = compileGanSource(task.lossSource, task.dLoss, task.params);
  const ds = cachedDataset(task.dataset);
  if (ds.shape.join() !== '28,28,1' || ds.numClasses !== CLASSES) {
    throw new Error(`GAN runs train on 28x28 grey digits in 10 classes; ${ds.name} is ${ds.shape.join('x')} in ${ds.numClasses} classes`);
  }
  const clf = await digitClassifier(s.classifier, backendName, ctx.signal);
  const dsInfo = { name: ds.name, train: ds.train.n, val: ds.val.n, test: ds.test.n, classes: ds.numClasses };
  const clfInfo = { file: clf.file, trainedNow: clf.trainedNow, testAccuracy: clf.testAccuracy };

  const nets = createGanNets(s.zDim, CLASSES, s.filters, task.seed);
  const adam = { kind: 'adam' as const, beta1: s.beta1, beta2: s.beta2 };
  const optD = createOptimizer(adam, nets.dVars);
  const optG = createOptimizer(adam, nets.gVars);
  const bs = Math.min(task.batchSize, ds.train.n);
  const stream = new BatchStream(ds.train.n, Rng.derive(task.seed, 'order'));
  const noise = Rng.derive(task.seed, 'gan-noise');
  const interp = Rng.derive(task.seed, 'gan-interpolate');
  const gCtx: Ctx = { training: true, rng: new Rng(0), updateStats: true };
  const needGp = dLoss.reads.has('grad_norm') || gLoss.reads.has('grad_norm');
  const d = 28 * 28;
  const totalSteps = task.epochs * task.stepsPerEpoch;
  const history: GanRunOutcome['history'] = [];
  let status: TrainStatus = 'completed';
  let reason: string | undefined;
  let step = 0;
  let lastProgress = -Infinity;

  /** The loss's inputs; d_real and grad_norm only when it reads them. */
  const inputs = (loss: GanLossFn, real: tf.Tensor4D, fake: tf.Tensor4D, labels: tf.Tensor2D, eps: tf.Tensor4D | undefined): GanInputs => ({
    d_fake: nets.discriminate(fake, labels),
    d_real: loss.reads.has('d_real') ? nets.discriminate(real, labels) : tf.zeros([real.shape[0]]),
    ...(loss.reads.has('grad_norm') ? { grad_norm: gradNorm(nets, real, fake, eps!, labels) } : {}),
  });

  try {
    outer: for (let epoch = 1; epoch <= task.epochs; epoch++) {
      const te = performance.now();
      let dSum = 0;
      let gSum = 0;
      for (let i = 0; i < task.stepsPerEpoch; i++, step++) {
        await yieldToLoop();
        if (ctx.signal.aborted) {
          status = 'cancelled';
          reason = 'cancelled';
          break outer;
        }
        const idx = stream.next(bs);
        const xs = new Float32Array(bs * d);
        const ys = new Int32Array(bs);
        for (let k = 0; k < bs; k++) {
          xs.set(ds.train.x.subarray(idx[k] * d, (idx[k] + 1) * d), k * d);
          ys[k] = ds.train.labels[idx[k]];
        }
        const z = normals(noise, bs * s.zDim);
        const e = needGp ? Float32Array.from({ length: bs }, () => interp.next()) : undefined;
        const losses = tf.tidy(() => {
          const real = tf.tensor4d(xs, [bs, 28, 28, 1]);
          const labels = oneHot(ys);
          const zt = tf.tensor2d(z, [bs, s.zDim]);
          const eps = e ? tf.tensor4d(e, [bs, 1, 1, 1]) : undefined;
          // D step: the generated batch is held fixed.
          const fake = nets.generate(zt, labels, gCtx);
          const dRes = tf.variableGrads(() => {
            return tf.mean(dLoss(inputs(dLoss, real, fake, labels, eps))) as tf.Scalar;
          }, nets.dVars);
          const dGrads = nets.dVars.map((v) => dRes.grads[v.name]);
          const dCheck = tf.addN([dRes.value, ...dGrads.map((gr) => tf.sum(gr))]).dataSync()[0];
          const dValue = dRes.value.dataSync()[0];
          if (!Number.isFinite(dValue) || !Number.isFinite(dCheck)) return { d: dValue, g: NaN, what: !Number.isFinite(dValue) ? 'discriminator loss' : "discriminator's gradient" };
          optD.step(dGrads, task.lr);
          if (s.clip !== undefined) clipWeights(nets.dVars, s.clip);
          // G step.
          const gRes = tf.variableGrads(() => tf.mean(gLoss(inputs(gLoss, real, nets.generate(zt, labels, gCtx), labels, eps))) as tf.Scalar, nets.gVars);
          const gGrads = nets.gVars.map((v) => gRes.grads[v.name]);
          const gCheck = tf.addN([gRes.value, ...gGrads.map((gr) => tf.sum(gr))]).dataSync()[0];
          const gValue = gRes.value.dataSync()[0];
          if (!Number.isFinite(gValue) || !Number.isFinite(gCheck)) return { d: dValue, g: gValue, what: !Number.isFinite(gValue) ? 'generator loss' : "generator's gradient" };
          optG.step(gGrads, task.lr);
          return { d: dValue, g: gValue, what: '' };
        });
        if (losses.what) {
          status = 'nan';
          reason = `${losses.what} is not finite at step ${step}`;
          break outer;
        }
        dSum += losses.d;
        gSum += losses.g;
        const now = performance.now();
        if (now - lastProgress >= STEP_PROGRESS_MS) {
          lastProgress = now;
          ctx.progress({ kind: 'step', step: step + 1, steps: totalSteps, epoch, epochs: task.epochs });
        }
      }
      const quick = ganMetrics(nets, s.zDim, 50, task.seed, clf);
      const rec = { epoch, dLoss: dSum / task.stepsPerEpoch, gLoss: gSum / task.stepsPerEpoch, fd: quick.fd, genAccuracy: quick.genAccuracy, ms: performance.now() - te };
      history.push(rec);
      ctx.progress({ kind: 'gan-epoch', epoch: rec });
    }
    const none: GanMetricsJson = { fd: null, genAccuracy: null, perClassAccuracy: new Array<null>(CLASSES).fill(null), classifierAccuracy: clf.testAccuracy };
    const metrics = status === 'completed' ? ganMetrics(nets, s.zDim, s.samplesPerClass, task.seed, clf) : none;
    return { status, history, metrics, steps: step, wallMs: performance.now() - t0, ...(reason ? { reason } : {}), classifier: clfInfo, dataset: dsInfo };
  } finally {
    optD.dispose();
    optG.dispose();
    nets.dispose();
  }
}
