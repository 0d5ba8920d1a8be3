/**
 * The tfjs lowering of every builtin: a table keyed by BuiltinId, so a builtin added to the
 * grammar without a lowering here fails to compile (`{ [K in BuiltinId]: Lower }` is total).
 *
 * Conventions (see compile.ts):
 *  - a value is a JS number (a constant: numbers, params, C, and arithmetic of those) or a float32
 *    tensor of rank 2: [N,1] for per-sample scalars, [N,K] for vectors over classes; tfjs
 *    broadcasting then matches the DSL's "a scalar broadcasts over a vector";
 *  - an elementwise builtin whose arguments are all constants is folded in float64 by the
 *    grammar's own `fn` (the oracle), so constants are exactly the evaluator's;
 *  - reductions and maps act on the class axis (the last) with keepDims; given a per-sample scalar
 *    they act on a one-element vector, as the evaluator does; sum_px and mean_px act on the pixel
 *    axis (-2) of task segmentation's [N, P, K] images;
 *  - gradients: the tfjs op's own where it equals the grammar's derivative rule (including the
 *    choice at kinks: max2/min2/clamp/abs), a custom gradient where it does not (step, sign,
 *    stop_gradient: zero; i1x/i1ex/j1x: analytic with series near 0);
 *  - both branches of every tf.where are finite (no NaN can leak into a gradient).
 */
import * as tf from '@tensorflow/tfjs';
import { EPS, type BuiltinId } from '../../../../grammar/src/index';
import * as S from './tf-special';

export type TVal = number | tf.Tensor;

export interface LowerCtx {
  /** Number of classes K. */
  classes: number;
}

/** A lowering: arguments already lowered (constant arguments are numbers). */
export type Lower = (a: TVal[], ctx: LowerCtx) => TVal;

const isNum = (v: TVal): v is number => typeof v === 'number';

function t(v: TVal): tf.Tensor {
  return isNum(v) ? tf.scalar(v) : v;
}

function constArg(v: TVal, fn: string, what: string): number {
  if (!isNum(v)) throw new Error(`${fn}: ${what} must be a constant (a number or a param)`);
  return v;
}

interface UnaryGrad {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor;
}

/** A unary op with a custom gradient (tf.customGrad with the typing straightened out). */
function customUnary(f: (x: tf.Tensor, save: tf.GradSaveFunc) => UnaryGrad): (x: tf.Tensor) => tf.Tensor {
  type Forward = Parameters<typeof tf.customGrad>[0];
  const forward = ((...args: Array<tf.Tensor | tf.GradSaveFunc>) => f(args[0] as tf.Tensor, args[1] as tf.GradSaveFunc)) as unknown as Forward;
  const op = tf.customGrad(forward);
  return (x: tf.Tensor) => op(x);
}

/** f(x) with gradient 0 (piecewise-constant functions). */
function zeroGrad(f: (x: tf.Tensor) => tf.Tensor): (x: tf.Tensor) => tf.Tensor {
  return customUnary((x) => ({ value: f(x), gradFunc: (dy) => tf.zerosLike(dy) }));
}

/** |x| with gradient sign(x) (0 at 0, as the grammar's rule; tfjs's Abs gives -1 at 0; S.signOf, not wasm's Sign). */
const abs = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return { value: tf.abs(x), gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.mul(dy, S.signOf(xs)) };
});
const sign = zeroGrad((x) => S.signOf(x));
const step = zeroGrad((x) => tf.cast(tf.greaterEqual(x, 0), 'float32'));
const stopGradient = zeroGrad((x) => tf.clone(x));

// ---------------------------------------------------------------- i1x, i1ex, j1x

/** Σ_{k<5} c_k u^k (Horner) for u a tensor. */
function poly(u: tf.Tensor, c: number[]): tf.Tensor {
  let r: tf.Tensor = tf.fill(u.shape, c[c.length - 1]);
  for (let k = c.length - 2; k >= 0; k--) r = tf.add(tf.mul(r, u), c[k]);
  return r;
}

function factorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}

/** Series coefficients in u = ±x²/4: I1(x)/x = 1/2 Σ u^k/(k!(k+1)!), I2(x)/x = x/4 Σ u^k/(k!(k+2)!). */
const NS = 6;
const C1 = Array.from({ length: NS }, (_, k) => 0.5 / (factorial(k) * factorial(k + 1)));
const C2 = Array.from({ length: NS }, (_, k) => 0.25 / (factorial(k) * factorial(k + 2)));
const C1J = C1.map((c, k) => (k % 2 ? -c : c));
const C2J = C2.map((c, k) => (k % 2 ? -c : c));
/** Below this |x| the series (truncation < 3e-11 relative at |x| = 1) replaces the division by x. */
const SMALL = 1;

/**
 * [i1ex(x), e^{-|x|} I2(x)/x]: i1e(x)/x and the derivative part of i1ex, with both branches
 * finite (the division uses a safe copy of x).
 */
function i1exParts(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const ax = tf.abs(x);
    const small = tf.less(ax, SMALL);
    const xs = tf.where(small, tf.onesLike(x), x); // safe denominator
    const ex = tf.exp(tf.neg(ax));
    const u = tf.div(tf.square(x), 4);
    const i1exS = tf.mul(ex, poly(u, C1));
    const i2S = tf.mul(ex, tf.mul(x, poly(u, C2)));
    const i1e = S.i1e(xs);
    const i1exL = tf.div(i1e, xs);
    const i2L = tf.div(tf.sub(S.i0e(xs), tf.mul(2, i1exL)), xs);
    return [tf.where(small, i1exS, i1exL), tf.where(small, i2S, i2L)] as [tf.Tensor, tf.Tensor];
  });
}

/** i1ex = i1e(x)/x; gradient e^{-|x|} I2(x)/x − sign(x)·i1ex. */
const i1exOp = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: i1exParts(x)[0],
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => {
      const [v, d] = i1exParts(xs);
      return tf.mul(dy, tf.sub(d, tf.mul(S.signOf(xs), v)));
    },
  };
});

/** i1x = I1(x)/x = e^{|x|}·i1ex(x); gradient I2(x)/x. Overflows with I1 (|x| ≳ 88). */
const i1xOp = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: tf.tidy(() => tf.mul(tf.exp(tf.abs(x)), i1exParts(x)[0])),
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.mul(dy, tf.mul(tf.exp(tf.abs(xs)), i1exParts(xs)[1])),
  };
});

/** [J1(x)/x, (J1/x)' = (J0 − 2 J1/x)/x], series below |x| = 1. */
function j1xParts(x: tf.Tensor): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const small = tf.less(tf.abs(x), SMALL);
    const xs = tf.where(small, tf.onesLike(x), x);
    const u = tf.div(tf.square(x), 4);
    const vS = poly(u, C1J);
    const dS = tf.neg(tf.mul(x, poly(u, C2J)));
    const vL = tf.div(S.j1(xs), xs);
    const dL = tf.div(tf.sub(S.j0(xs), tf.mul(2, vL)), xs);
    return [tf.where(small, vS, vL), tf.where(small, dS, dL)] as [tf.Tensor, tf.Tensor];
  });
}

const j1xOp = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: j1xParts(x)[0],
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.mul(dy, j1xParts(xs)[1]),
  };
});

// ---------------------------------------------------------------- log1m_softmax

/**
 * log(1 - softmax(z)) per class, finite where softmax(z) rounds to 1: log1p(-p) where p <= 1/2;
 * at the largest logit (the only class that can be above 1/2) lo - softplus(lo), with lo the
 * logsumexp of the other logits minus the largest (the log of their total relative to it). Both
 * branches are finite everywhere: the first on log p clamped to -ln 2, the second over K - 1 finite
 * entries (one-hot of argmax, so ties never mask two), so no NaN reaches a gradient. tfjs
 * differentiates the composition.
 */
function log1mSoftmax(z: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const s = tf.sub(z, tf.max(z, -1, true));
    const logp = tf.logSoftmax(s);
    const low = tf.log1p(tf.neg(tf.exp(tf.minimum(logp, -Math.LN2))));
    const others = tf.where(tf.cast(argmaxMask(s), 'bool'), tf.fill(s.shape, -Infinity), s);
    const lo = tf.logSumExp(others, -1, true);
    const high = tf.broadcastTo(tf.sub(lo, tf.softplus(lo)), s.shape);
    return tf.where(tf.cast(atMostHalf(logp), 'bool'), low, high);
  });
}

/** Masks as float32 with a zero gradient (tfjs has no gradient for comparisons and argMax). */
const atMostHalf = zeroGrad((logp) => tf.cast(tf.lessEqual(logp, -Math.LN2), 'float32'));
const argmaxMask = zeroGrad((x) => tf.cast(tf.oneHot(tf.argMax(x, -1), x.shape[x.shape.length - 1]), 'float32'));

// ---------------------------------------------------------------- reductions and maps

const keep = true;
function reduce(f: (x: tf.Tensor) => tf.Tensor, onNumber: (v: number) => number): Lower {
  return (a) => (isNum(a[0]) ? onNumber(a[0]) : f(a[0]));
}

const LN10 = Math.LN10;

/** The lowering table: total over BuiltinId. */
export const TF: { [K in BuiltinId]: Lower } = {
  add: ([a, b]) => tf.add(t(a), t(b)),
  sub: ([a, b]) => tf.sub(t(a), t(b)),
  mul: ([a, b]) => tf.mul(t(a), t(b)),
  div: ([a, b]) => tf.div(t(a), t(b)),
  pow: ([a, b]) => {
    if (isNum(b) && b === 2) return tf.square(t(a));
    if (isNum(b) && b === 1) return t(a);
    return tf.pow(t(a), t(b));
  },
  neg: ([x]) => tf.neg(t(x)),
  log: ([x]) => tf.log(t(x)),
  exp: ([x]) => tf.exp(t(x)),
  sqrt: ([x]) => tf.sqrt(t(x)),
  abs: ([x]) => abs(t(x)),
  sign: ([x]) => sign(t(x)),
  step: ([x]) => step(t(x)),
  square: ([x]) => tf.square(t(x)),
  log1p: ([x]) => tf.log1p(t(x)),
  expm1: ([x]) => tf.expm1(t(x)),
  sin: ([x]) => tf.sin(t(x)),
  cos: ([x]) => tf.cos(t(x)),
  tanh: ([x]) => tf.tanh(t(x)),
  sinh: ([x]) => tf.sinh(t(x)),
  cosh: ([x]) => tf.cosh(t(x)),
  asinh: ([x]) => tf.asinh(t(x)),
  atan: ([x]) => tf.atan(t(x)),
  sigmoid: ([x]) => tf.sigmoid(t(x)),
  softplus: ([x]) => tf.softplus(t(x)),
  erf: ([x]) => tf.erf(t(x)),
  erfc: ([x]) => S.erfc(t(x)),
  ln: ([x]) => tf.log(tf.add(abs(t(x)), EPS)),
  log10: ([x]) => tf.div(tf.log(tf.add(abs(t(x)), EPS)), LN10),
  reciprocal: ([x]) => tf.div(1, tf.add(t(x), EPS)),
  inv1p_abs: ([x]) => tf.div(1, tf.add(abs(t(x)), 1)),
  softsign: ([x]) => tf.div(t(x), tf.add(abs(t(x)), 1)),
  sqrt_abs: ([x]) => tf.sqrt(abs(t(x))),
  dtanh: ([x]) => tf.sub(1, tf.square(tf.tanh(t(x)))),
  dsigmoid: ([x]) => {
    const s = tf.sigmoid(t(x));
    return tf.mul(s, tf.sub(1, s));
  },
  pdiv: ([a, b]) => tf.div(t(a), tf.add(t(b), EPS)),
  aq: ([a, b]) => tf.div(t(a), tf.sqrt(tf.add(tf.square(t(b)), 1))),
  // tf.maximum's gradient goes to a where a >= b and to b where a < b: the grammar's step rule.
  max2: ([a, b]) => tf.maximum(t(a), t(b)),
  // tf.minimum: to a where a <= b, to b where a > b: the grammar's rule.
  min2: ([a, b]) => tf.minimum(t(a), t(b)),
  clamp: ([x, lo, hi]) => {
    if (isNum(lo) && isNum(hi) && lo <= hi) return tf.clipByValue(t(x), lo, hi); // gradient where lo <= x <= hi
    return tf.minimum(tf.maximum(t(x), t(lo)), t(hi));
  },
  i0: ([x]) => S.i0(t(x)),
  i1: ([x]) => S.i1(t(x)),
  i0e: ([x]) => S.i0e(t(x)),
  i1e: ([x]) => S.i1e(t(x)),
  i1x: ([x]) => i1xOp(t(x)),
  i1ex: ([x]) => i1exOp(t(x)),
  j0: ([x]) => S.j0(t(x)),
  j1: ([x]) => S.j1(t(x)),
  j1x: ([x]) => j1xOp(t(x)),
  log_t: ([x, tt]) => S.logT(t(x), constArg(tt, 'log_t', 't')),
  exp_t: ([x, tt]) => S.expT(t(x), constArg(tt, 'exp_t', 't')),
  tempered_softmax: ([z, tt]) => {
    const temp = constArg(tt, 'tempered_softmax', 't');
    return isNum(z) ? 1 : S.temperedSoftmax(z, temp);
  },
  sum: reduce((x) => tf.sum(x, -1, keep), (v) => v),
  mean: reduce((x) => tf.mean(x, -1, keep), (v) => v),
  max: reduce((x) => tf.max(x, -1, keep), (v) => v),
  min: reduce((x) => tf.min(x, -1, keep), (v) => v),
  logsumexp: reduce((x) => tf.logSumExp(x, -1, keep), (v) => v),
  softmax: reduce((x) => tf.softmax(x), () => 1),
  log_softmax: reduce((x) => tf.logSoftmax(x), () => 0),
  log1m_softmax: reduce(log1mSoftmax, () => -Infinity),
  stop_gradient: ([x]) => (isNum(x) ? x : stopGradient(x)),
  // Task segmentation: [N, P, K] images, pixels on axis -2 (the checker refuses a value without them).
  sum_px: ([x]) => tf.sum(t(x), -2, keep),
  mean_px: ([x]) => tf.mean(t(x), -2, keep),
};
