/**
 * Plain-variable building blocks for the models: seeded initialisers, conv, dense, batch norm
 * (closed-form gradient), swish, dropout with a seeded mask. No tfjs-layers: we need exact
 * control over initialisation, dropout draws and when batch-norm statistics update (SAM).
 */
import * as tf from '@tensorflow/tfjs';
import { BN_BACKWARD, BN_FORWARD, SWISH_BACKWARD } from '../kernels';
import { Rng } from '../../../rng';

let fusedAllowed = true;

/** For tests and benchmarks: allow (default) or forbid the fused batch-norm and swish kernels. */
export function setFusedBatchNorm(allowed: boolean): void {
  fusedAllowed = allowed;
}

/** The fused training batch norm runs where its kernels are registered (wasm), else the composed ops. */
function fusedBatchNorm(): boolean {
  return fusedAllowed && tf.getKernel(BN_FORWARD, tf.getBackend()) !== undefined;
}

export interface ApplyOptions {
  /** Dropout masks are drawn from this Rng (default: the model's own, seeded at creation). */
  rng?: Rng;
  /** Update batch-norm moving statistics (training only; default true). SAM's second pass sets false. */
  updateStats?: boolean;
}

export interface Ctx {
  training: boolean;
  rng: Rng;
  updateStats: boolean;
}

export class ParamStore {
  readonly trainable: tf.Variable[] = [];
  readonly state: tf.Variable[] = [];
  private names = new Set<string>();
  constructor(private rng: Rng) {}

  private add(name: string, t: tf.Tensor, trainable: boolean): tf.Variable {
    if (this.names.has(name)) throw new Error(`duplicate parameter ${name}`);
    this.names.add(name);
    const v = tf.variable(t, trainable, name + '_' + uid());
    t.dispose();
    (trainable ? this.trainable : this.state).push(v);
    return v;
  }

  /** Glorot (Xavier) uniform, Keras' default kernel initialiser. */
  glorot(name: string, shape: number[], fanIn: number, fanOut: number): tf.Variable {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = new Float32Array(n);
    for (let i = 0; i < n; i++) vals[i] = this.rng.uniform(-limit, limit);
    return this.add(name, tf.tensor(vals, shape, 'float32'), true);
  }

  constant(name: string, shape: number[], value: number, trainable = true): tf.Variable {
    return this.add(name, tf.fill(shape, value, 'float32'), trainable);
  }
}

let uidCounter = 0;
function uid(): string {
  return (uidCounter++).toString(36);
}

export type Layer = (x: tf.Tensor, ctx: Ctx) => tf.Tensor;

export function conv2d(
  p: ParamStore, name: string, k: number, cin: number, cout: number,
  opts: { stride?: number; bias?: boolean } = {}
): Layer {
  const w = p.glorot(name + '/kernel', [k, k, cin, cout], k * k * cin, k * k * cout);
  const b = opts.bias === false ? undefined : p.constant(name + '/bias', [cout], 0);
  const s = opts.stride ?? 1;
  return (x) => {
    const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s, 'same');
    return b ? tf.add(y, b) : y;
  };
}

export function dense(p: ParamStore, name: string, cin: number, cout: number): Layer {
  const w = p.glorot(name + '/kernel', [cin, cout], cin, cout);
  const b = p.constant(name + '/bias', [cout], 0);
  return (x) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b);
}

/**
 * Batch normalisation over all axes but the last (Keras defaults: momentum 0.99, epsilon
 * 1e-3). In training the batch statistics normalise and the moving averages update (unless
 * ctx.updateStats is false). The training-mode gradient is the closed form
 * dx = gamma*rstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)). On wasm both directions run as
 * fused kernels (kernels/batchnorm.ts), elsewhere as the same formulas in tfjs ops.
 */
export function batchNorm(p: ParamStore, name: string, c: number, momentum: number = 0.99, eps = 1e-3): Layer {
  const gamma = p.constant(name + '/gamma', [c], 1);
  const beta = p.constant(name + '/beta', [c], 0);
  const movingMean = p.constant(name + '/moving_mean', [c], 0, false);
  const movingVar = p.constant(name + '/moving_variance', [c], 1, false);
  return (x, ctx) => {
    if (!ctx.training) {
      const scale = tf.mul(gamma, tf.rsqrt(tf.add(movingVar, eps)));
      return tf.add(tf.mul(tf.sub(x, movingMean), scale), beta);
    }
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const m = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
    let stats: { mean: tf.Tensor; variance: tf.Tensor } | undefined;
    const fused = (xi: tf.Tensor, g: tf.Tensor, bt: tf.Tensor, save: tf.GradSaveFunc) => {
      const [value, mean, variance, rstd] = tf.engine().runKernel(BN_FORWARD, { x: xi, gamma: g, beta: bt }, { eps } as unknown as tf.NamedAttrMap) as tf.Tensor[];
      stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
      save([xi, mean, rstd, g]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, mu, rs, gm] = saved;
          return tf.engine().runKernel(BN_BACKWARD, { dy, x: xs, mean: mu, rstd: rs, gamma: gm }, {}) as tf.Tensor[];
        },
      };
    };
    const fwd = (xi: tf.Tensor, g: tf.Tensor, bt: tf.Tensor, save: tf.GradSaveFunc) => {
      const { mean, variance } = tf.moments(xi, axes);
      const rstd = tf.rsqrt(tf.add(variance, eps));
      const xhat = tf.mul(tf.sub(xi, mean), rstd);
      stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
      save([xhat, rstd, g]);
      return {
        value: tf.add(tf.mul(xhat, g), bt),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xh, rs, gm] = saved;
          const dbeta = tf.sum(dy, axes);
          const dgamma = tf.sum(tf.mul(dy, xh), axes);
          const scale = tf.div(tf.mul(gm, rs), m);
          const dx = tf.mul(tf.sub(tf.sub(tf.mul(dy, m), dbeta), tf.mul(xh, dgamma)), scale);
          return [dx, dgamma, dbeta];
        },
      };
    };
    const f = tf.customGrad((fusedBatchNorm() ? fused : fwd) as unknown as Parameters<typeof tf.customGrad>[0]);
    const y = f(x, gamma, beta);
    const st = stats!;
    if (ctx.updateStats) {
      // Keras uses the unbiased batch variance for the moving average.
      const unbias = m > 1 ? m / (m - 1) : 1;
      tf.tidy(() => {
        movingMean.assign(tf.add(tf.mul(movingMean, momentum), tf.mul(st.mean, 1 - momentum)));
        movingVar.assign(tf.add(tf.mul(movingVar, momentum), tf.mul(st.variance, (1 - momentum) * unbias)));
      });
    }
    st.mean.dispose();
    st.variance.dispose();
    return y;
  };
}

/**
 * swish(x) = x * sigmoid(x) with the gradient dy * s * (1 + x * (1 - s)) from the saved s: on
 * wasm one fused kernel (kernels/batchnorm.ts), elsewhere the same formula in tfjs ops.
 */
const swishFn = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const s = tf.sigmoid(x);
  save([x, s]);
  return {
    value: tf.mul(x, s),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ss] = saved;
      if (fusedAllowed && tf.getKernel(SWISH_BACKWARD, tf.getBackend())) return [tf.engine().runKernel(SWISH_BACKWARD, { dy, x: xs, s: ss }, {}) as tf.Tensor];
      return [tf.mul(dy, tf.mul(ss, tf.add(1, tf.mul(xs, tf.sub(1, ss)))))];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

export const swish: Layer = (x) => swishFn(x) as tf.Tensor;
export const relu: Layer = (x) => tf.relu(x);

/** Inverted dropout with a mask drawn from ctx.rng (identity when not training). */
export function dropout(rate: number): Layer {
  return (x, ctx) => {
    if (!ctx.training || rate <= 0) return x;
    const n = x.size;
    const keep = 1 - rate;
    const mask = new Float32Array(n);
    for (let i = 0; i < n; i++) mask[i] = ctx.rng.next() < keep ? 1 / keep : 0;
    return tf.mul(x, tf.tensor(mask, x.shape, 'float32'));
  };
}

export const globalAvgPool: Layer = (x) => tf.mean(x, [1, 2]);

/** 2x2 max pooling with stride 2, 'valid' padding (Keras' MaxPooling2D default: odd sizes floor). */
export const maxPool2: Layer = (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid');

/** [N,H,W,C] -> [N,H*W*C] in NHWC order (Keras' Flatten on channels-last). */
export const flatten: Layer = (x) => tf.reshape(x, [x.shape[0], x.size / x.shape[0]]);
