/**
 * Float32 special functions as tfjs ops, with analytic gradients (tf.customGrad), for the DSL
 * compiler. The float64 oracle is grammar/src/special.ts; the same Chebyshev tables are used
 * here, truncated to the prefix float32 needs (`n32`, dropped tail < 2e-9·min|f|), and Cody's
 * erfc coefficients.
 *
 * Rules followed by every op:
 *  - Forward passes are pure tensor ops (Clenshaw recurrences, tf.where between branches), so
 *    they work on every backend and on tensors of any shape (float32 in, float32 out).
 *  - Every branch is evaluated on a clamped ("safe") copy of the input, so both sides of each
 *    tf.where are finite: no Inf/NaN is produced in an unused branch, and none can leak into a
 *    gradient (the classic tf.where NaN-gradient trap).
 *  - Gradients are the analytic identities (i0e' = i1e − sign(x)·i0e, …) evaluated with the same
 *    float32 functions, never the derivative of an approximation; i1(x)/x-type terms come from
 *    the inner expansion itself (no division), so they are finite at 0.
 *  - No tensor leaks: forward passes run inside customGrad's tidy, helpers use tf.tidy.
 *
 * Measured accuracy (test/engine/tf-special.test.ts, cpu and wasm backends) is listed in each
 * doc comment.
 */
import * as tf from '@tensorflow/tfjs';
import { CODY_ERF, SPECIAL_TABLES } from '../../../../grammar/src/special';

type Table = { readonly c: readonly number[]; readonly n32: number };

/**
 * sign(x): -1, 0 or 1 from two comparisons. The wasm backend's Sign kernel returns 0 for
 * |x| <= 1e-7 (1e-8 and 1e-7 give 0, 2e-7 gives 1), which zeroed the gradient of abs, ln and
 * log10 at tiny arguments (the seed system's ln(p) once p < 1e-7); the cpu kernel is right.
 */
export function signOf(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(tf.cast(tf.greater(x, 0), 'float32'), tf.cast(tf.less(x, 0), 'float32')));
}

/** Σ_{k<n32} c_k T_k(s) by Clenshaw's recurrence (float32-stable), s any shape. */
function cheb(table: Table, s: tf.Tensor): tf.Tensor {
  const c = table.c;
  const n = table.n32;
  return tf.tidy(() => {
    const s2 = tf.mul(s, 2);
    let b1: tf.Tensor = tf.fill(s.shape, c[n - 1]);
    let b2: tf.Tensor = tf.zerosLike(s);
    for (let k = n - 2; k >= 1; k--) {
      const b0 = tf.add(tf.sub(tf.mul(s2, b1), b2), c[k]);
      b2 = b1;
      b1 = b0;
    }
    return tf.add(tf.sub(tf.mul(s, b1), b2), c[0]);
  });
}

/** Split a double constant z (given as hi + lo) into float32 hi32 + lo32. */
function split32([hi, lo]: readonly [number, number]): [number, number] {
  const h = Math.fround(hi);
  return [h, Math.fround(hi - h + lo)];
}
const Z01 = split32(SPECIAL_TABLES.zeros.J01);
const Z02 = split32(SPECIAL_TABLES.zeros.J02);
const Z11 = split32(SPECIAL_TABLES.zeros.J11);
const Z12 = split32(SPECIAL_TABLES.zeros.J12);

const SQRT_PI = Math.sqrt(Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

// ---------------------------------------------------------------------------------------------
// Raw (non-differentiable) forward kernels. All take float32 tensors and return new tensors.
// ---------------------------------------------------------------------------------------------

/** ax ≤ 8 selector and the two safe arguments. */
function iSplit(x: tf.Tensor): { ax: tf.Tensor; inner: tf.Tensor; sIn: tf.Tensor; axOut: tf.Tensor; sOut: tf.Tensor } {
  const ax = tf.abs(x);
  const inner = tf.lessEqual(ax, 8);
  const sIn = tf.sub(tf.div(tf.minimum(ax, 8), 4), 1); // x/4 − 1 on [0, 8]
  const axOut = tf.maximum(ax, 8);
  const sOut = tf.sub(tf.div(16, axOut), 1); // 16/x − 1 on [8, ∞)
  return { ax, inner, sIn, axOut, sOut };
}

function rawI0e(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { inner, sIn, axOut, sOut } = iSplit(x);
    const a = cheb(SPECIAL_TABLES.I0E_IN, sIn);
    const b = tf.div(cheb(SPECIAL_TABLES.I0E_OUT, sOut), tf.sqrt(axOut));
    return tf.where(inner, a, b);
  });
}

/** i1e(x)/x (even), 1/2 at 0: the inner expansion has no factor x, the outer divides by |x| ≥ 8. */
function rawI1eOverX(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { inner, sIn, axOut, sOut } = iSplit(x);
    const a = cheb(SPECIAL_TABLES.I1E_IN, sIn);
    const b = tf.div(cheb(SPECIAL_TABLES.I1E_OUT, sOut), tf.mul(tf.sqrt(axOut), axOut));
    return tf.where(inner, a, b);
  });
}

function rawI1e(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const { inner, sIn, axOut, sOut } = iSplit(x);
    const a = tf.mul(x, cheb(SPECIAL_TABLES.I1E_IN, sIn));
    const b = tf.mul(tf.sign(x), tf.div(cheb(SPECIAL_TABLES.I1E_OUT, sOut), tf.sqrt(axOut)));
    return tf.where(inner, a, b);
  });
}

/** e^{|x|}·v, as e^{|x|/2}·v·e^{|x|/2} so that it only overflows where the product does (|x| ≳ 91.9 for I0). */
function scaleExp(v: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const e = tf.exp(tf.div(tf.abs(x), 2));
    return tf.mul(tf.mul(e, v), e);
  });
}

/** J0 pieces. */
function rawJ0(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const ax = tf.abs(x);
    const inner = tf.lessEqual(ax, 8);
    const ai = tf.minimum(ax, 8);
    const a = tf.mul(tf.mul(diffSq(ai, Z01), diffSq(ai, Z02)), cheb(SPECIAL_TABLES.J0_IN, tf.sub(tf.div(tf.square(ai), 32), 1)));
    const b = hankel(ax, 0);
    return tf.where(inner, a, b);
  });
}

/** J1(x)/x (even), 1/2 at 0. */
function rawJ1OverX(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const ax = tf.abs(x);
    const inner = tf.lessEqual(ax, 8);
    const ai = tf.minimum(ax, 8);
    const a = tf.mul(tf.mul(diffSq(ai, Z11), diffSq(ai, Z12)), cheb(SPECIAL_TABLES.J1_IN, tf.sub(tf.div(tf.square(ai), 32), 1)));
    const ao = tf.maximum(ax, 8);
    const b = tf.div(hankel(ax, 1), ao);
    return tf.where(inner, a, b);
  });
}

function rawJ1(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, rawJ1OverX(x)));
}

/** (x − z)(x + z) with z = hi + lo in float32 (x − hi is exact near the zero). */
function diffSq(x: tf.Tensor, [hi, lo]: [number, number]): tf.Tensor {
  return tf.mul(tf.sub(tf.sub(x, hi), lo), tf.add(x, hi));
}

/**
 * Hankel form for |x| ≥ 8 on the safe argument max(|x|, 8): J0 = (P0(c+s) − Q0(s−c))/√(π x),
 * J1(|x|) = (P1(s−c) + Q1(s+c))/√(π x), c = cos x, s = sin x (π/4 is never added to x, so float32
 * rounding of the phase is avoided; the trig functions reduce x themselves).
 */
function hankel(ax: tf.Tensor, order: 0 | 1): tf.Tensor {
  return tf.tidy(() => {
    const ao = tf.maximum(ax, 8);
    const r = tf.div(8, ao);
    const s = tf.sub(tf.mul(tf.square(r), 2), 1); // 128/x² − 1
    const P = cheb(order === 0 ? SPECIAL_TABLES.P0 : SPECIAL_TABLES.P1, s);
    const Q = tf.mul(r, cheb(order === 0 ? SPECIAL_TABLES.Q0 : SPECIAL_TABLES.Q1, s));
    const c = tf.cos(ao);
    const sn = tf.sin(ao);
    const num =
      order === 0
        ? tf.sub(tf.mul(P, tf.add(c, sn)), tf.mul(Q, tf.sub(sn, c)))
        : tf.add(tf.mul(P, tf.sub(sn, c)), tf.mul(Q, tf.add(sn, c)));
    return tf.div(num, tf.mul(tf.sqrt(ao), SQRT_PI));
  });
}


/**
 * log1p(u) that is accurate on every backend (the wasm kernel loses relative accuracy for small u,
 * e.g. log1p(2.5e-7) comes out 2.38e-7): w = 1 + u, log1p(u) = log(w)·u/(w − 1) (exact correction
 * of the rounding of w; Goldberg 1991, "What every computer scientist…", Thm 4), u where w = 1.
 */
function log1pAcc(u: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const w = tf.add(u, 1);
    const d = tf.sub(w, 1);
    const same = tf.equal(d, 0);
    return tf.where(same, u, tf.div(tf.mul(tf.log(w), u), tf.where(same, tf.onesLike(d), d)));
  });
}

/**
 * expm1(x), accurate on every backend (Kahan's trick): u = e^x, expm1 = (u − 1)·x/log(u), with x
 * where u = 1, −1 where u = 0 and u − 1 for x > 80 (no inf/inf).
 */
function expm1Acc(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const u = tf.exp(x);
    const d = tf.sub(u, 1);
    const l = tf.log(u);
    const special = tf.logicalOr(tf.logicalOr(tf.equal(d, 0), tf.equal(u, 0)), tf.greater(x, 80));
    const kahan = tf.div(tf.mul(d, x), tf.where(special, tf.onesLike(l), l));
    return tf.where(tf.equal(d, 0), x, tf.where(special, d, kahan));
  });
}

/** Horner evaluation of Σ c_i y^i given c from highest degree down (scalar coefficients). */
function horner(coeffs: readonly number[], y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    let acc: tf.Tensor = tf.fill(y.shape, coeffs[0]);
    for (let i = 1; i < coeffs.length; i++) acc = tf.add(tf.mul(acc, y), coeffs[i]);
    return acc;
  });
}

/** e^{−y²} for y ≥ 0, as e^{−h²}·e^{−(y−h)(y+h)} with h = ⌊16y⌋/16 (h² exact in float32; Cody). */
function expMinusSq(y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const h = tf.div(tf.floor(tf.mul(y, 16)), 16);
    const del = tf.mul(tf.sub(y, h), tf.add(y, h));
    return tf.mul(tf.exp(tf.neg(del)), tf.exp(tf.neg(tf.square(h))));
  });
}

/** Cody's erfc (see grammar/src/special.ts `erfc`), three branches on safe arguments. */
function rawErfc(x: tf.Tensor): tf.Tensor {
  const { A, B, C, D, P, Q, THRESH } = CODY_ERF;
  return tf.tidy(() => {
    const y = tf.abs(x);
    // |x| ≤ 0.46875: 1 − x·R(x²), R = (((A4 y² + A0) y² + A1) y² + A2) y² + A3) / ((((y² + B0) y² + B1) y² + B2) y² + B3)
    const xs = tf.clipByValue(x, -THRESH, THRESH);
    const ys = tf.square(xs);
    const small = tf.sub(1, tf.div(tf.mul(xs, horner([A[4], A[0], A[1], A[2], A[3]], ys)), horner([1, B[0], B[1], B[2], B[3]], ys)));
    // 0.46875 < y ≤ 4: e^{−y²}·C(y)/D(y)
    const ym = tf.clipByValue(y, THRESH, 4);
    const mid = tf.div(horner([C[8], C[0], C[1], C[2], C[3], C[4], C[5], C[6], C[7]], ym), horner([1, D[0], D[1], D[2], D[3], D[4], D[5], D[6], D[7]], ym));
    // y > 4: e^{−y²}/y·(1/√π − y⁻²·P(y⁻²)/Q(y⁻²))
    const yt = tf.maximum(y, 4);
    const z = tf.reciprocal(tf.square(yt));
    const r = tf.div(tf.mul(z, horner([P[5], P[0], P[1], P[2], P[3], P[4]], z)), horner([1, Q[0], Q[1], Q[2], Q[3], Q[4]], z));
    const tail = tf.div(tf.sub(1 / SQRT_PI, r), yt);
    const pos = tf.mul(tf.where(tf.lessEqual(y, 4), mid, tail), expMinusSq(y));
    const big = tf.where(tf.less(x, 0), tf.sub(2, pos), pos);
    return tf.where(tf.lessEqual(y, THRESH), small, big);
  });
}

/** log I0: |x| < 2: log1p(Σ_{k=1..9} q^k/(k!)²), q = x²/4 (keeps ≈ x²/4 accurate); else |x| + log(i0e(x)). */
function rawLogI0(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const ax = tf.abs(x);
    const as = tf.minimum(ax, 2);
    const q = tf.div(tf.square(as), 4);
    // q·(1 + q/4 + q²/36 + …) in Horner form, coefficients 1/(k!)² for k = 9..1.
    const coeffs: number[] = [];
    let f = 1;
    for (let k = 1; k <= 9; k++) {
      f *= k;
      coeffs.unshift(1 / (f * f));
    }
    const series = log1pAcc(tf.mul(q, horner(coeffs, q)));
    const al = tf.maximum(ax, 2);
    const large = tf.add(al, tf.log(rawI0e(al)));
    return tf.where(tf.less(ax, 2), series, large);
  });
}

// ---------------------------------------------------------------------------------------------
// Differentiable ops
// ---------------------------------------------------------------------------------------------

function asF32(x: tf.Tensor): tf.Tensor {
  if (x.dtype !== 'float32') throw new TypeError(`tf-special: expected a float32 tensor, got ${x.dtype}`);
  return x;
}


type UnaryGrad = { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor };

/** tf.customGrad for a one-input op, typed. */
function customUnary(f: (x: tf.Tensor, save: tf.GradSaveFunc) => UnaryGrad): (x: tf.Tensor) => tf.Tensor {
  type Forward = Parameters<typeof tf.customGrad>[0];
  const forward = ((...args: Array<tf.Tensor | tf.GradSaveFunc>) => f(args[0] as tf.Tensor, args[1] as tf.GradSaveFunc)) as unknown as Forward;
  const op = tf.customGrad(forward);
  return (x: tf.Tensor) => op(x);
}

const i0eOp = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const y = rawI0e(x);
  save([x, y]);
  return {
    value: y,
    // i0e'(x) = i1e(x) − sign(x)·i0e(x)  (0 at the kink x = 0)
    gradFunc: (dy: tf.Tensor, [xs, ys]: tf.Tensor[]) => tf.mul(dy, tf.sub(rawI1e(xs), tf.mul(signOf(xs), ys))),
  };
});

const i1eOp = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const y = rawI1e(x);
  save([x, y]);
  return {
    value: y,
    // i1e'(x) = i0e(x) − sign(x)·i1e(x) − i1e(x)/x  (1/2 at 0)
    gradFunc: (dy: tf.Tensor, [xs, ys]: tf.Tensor[]) =>
      tf.mul(dy, tf.sub(tf.sub(rawI0e(xs), tf.mul(signOf(xs), ys)), rawI1eOverX(xs))),
  };
});

const i0Op = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: scaleExp(rawI0e(x), x),
    // I0' = I1
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.mul(dy, scaleExp(rawI1e(xs), xs)),
  };
});

const i1Op = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: scaleExp(rawI1e(x), x),
    // I1' = I0 − I1/x = e^{|x|}(i0e − i1e/x)  (1/2 at 0)
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.mul(dy, scaleExp(tf.sub(rawI0e(xs), rawI1eOverX(xs)), xs)),
  };
});

const logI0Op = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: rawLogI0(x),
    // (log I0)' = I1/I0 = i1e/i0e
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.mul(dy, tf.div(rawI1e(xs), rawI0e(xs))),
  };
});

const erfcOp = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: rawErfc(x),
    // erfc' = −2/√π·e^{−x²}
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.mul(dy, tf.mul(expMinusSq(tf.abs(xs)), -TWO_OVER_SQRT_PI)),
  };
});

const j0Op = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: rawJ0(x),
    // J0' = −J1
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.neg(tf.mul(dy, rawJ1(xs))),
  };
});

const j1Op = customUnary((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: rawJ1(x),
    // J1' = J0 − J1/x  (1/2 at 0)
    gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.mul(dy, tf.sub(rawJ0(xs), rawJ1OverX(xs))),
  };
});

/**
 * Exponentially scaled modified Bessel function i0e(x) = e^{−|x|} I0(x). Even; kink at 0
 * (gradient there: 0). Gradient i1e − sign(x)·i0e. Finite for all finite x.
 * Max relative error 2.4e-7 (cpu and wasm, |x| ≤ 60 and up to 1e30).
 */
export function i0e<T extends tf.Tensor>(x: T): T {
  return i0eOp(asF32(x)) as T;
}

/**
 * Exponentially scaled modified Bessel function i1e(x) = e^{−|x|} I1(x). Odd. Gradient i0e − sign(x)·i1e − i1e/x
 * (1/2 at 0). Max relative error 9.8e-7 (Clenshaw round-off near |x| = 8, where the inner series sums
 * alternating terms).
 */
export function i1e<T extends tf.Tensor>(x: T): T {
  return i1eOp(asF32(x)) as T;
}

/** Modified Bessel function I0(x) = e^{|x|}·i0e(x). Overflows (+∞) for |x| ≳ 91.9. Gradient I1. Max rel. error 3.2e-7. */
export function i0<T extends tf.Tensor>(x: T): T {
  return i0Op(asF32(x)) as T;
}

/** Modified Bessel function I1(x) = e^{|x|}·i1e(x). Odd; overflows for |x| ≳ 91.9. Gradient I0 − I1/x (1/2 at 0). Max rel. error 1.0e-6. */
export function i1<T extends tf.Tensor>(x: T): T {
  return i1Op(asF32(x)) as T;
}

/** log I0(x), stable for all x (never overflows). Gradient i1e/i0e ∈ (−1, 1). Max rel. error 1.9e-7 (≈ x²/4 kept near 0). */
export function logI0<T extends tf.Tensor>(x: T): T {
  return logI0Op(asF32(x)) as T;
}

/**
 * Complementary error function, accurate in the tail (relative error ~1e-6 down to the float32
 * normal range, erfc(9.1) ≈ 1e-37; 1 − tf.erf(x) is useless past x ≈ 4). Cody's rational forms
 * with the split exponential. Gradient −2/√π·e^{−x²}.
 */
export function erfc<T extends tf.Tensor>(x: T): T {
  return erfcOp(asF32(x)) as T;
}

/**
 * Bessel J0(x). Even. Gradient −J1. |x| ≤ 8: max abs error 2e-7 (the first two zeros are factored
 * out, so relative accuracy holds there too); |x| > 8: abs error ≤ 3e-7·√(2/(π|x|)) (cpu 2.3e-7, wasm
 * 2.8e-7 up to 6e5) — near zeros past 8 only absolute accuracy is possible in float32.
 */
export function j0<T extends tf.Tensor>(x: T): T {
  return j0Op(asF32(x)) as T;
}

/** Bessel J1(x). Odd. Gradient J0 − J1/x (1/2 at 0). Accuracy as j0 (abs ≤ 3.9e-7·√(2/(π|x|)) past 8). */
export function j1<T extends tf.Tensor>(x: T): T {
  return j1Op(asF32(x)) as T;
}

// ---------------------------------------------------------------------------------------------
// Tempered log / exp and softmax
// ---------------------------------------------------------------------------------------------

/** |1 − t| below which exp_t uses the log1p form instead of pow (pow's 1/(1−t) amplifies the rounding of 1 + (1−t)x). */
const NEAR_ONE = 0.1;

/** exp_t forward: pow(relu(1 + (1−t)x), 1/(1−t)), or exp(log1p(max((1−t)x, −1))/(1−t)) near t = 1. */
function rawExpT(x: tf.Tensor, t: number): tf.Tensor {
  return tf.tidy(() => {
    const a = 1 - t;
    const y = tf.mul(x, a);
    if (Math.abs(a) >= NEAR_ONE) return tf.pow(tf.relu(tf.add(y, 1)), 1 / a);
    return tf.exp(tf.div(log1pAcc(tf.maximum(y, -1)), a));
  });
}

/**
 * Tempered logarithm log_t(x) = (x^{1−t} − 1)/(1 − t) (log at t = 1), computed as
 * expm1((1−t)·log x)/(1−t). Gradient x^{−t}. t is a plain number (not differentiated).
 */
export function logT<T extends tf.Tensor>(x: T, t: number): T {
  asF32(x);
  if (t === 1) return tf.log(x);
  const a = 1 - t;
  const op = customUnary((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xx]);
    return {
      value: tf.div(expm1Acc(tf.mul(tf.log(xx), a)), a),
      gradFunc: (dy: tf.Tensor, [xs]: tf.Tensor[]) => tf.mul(dy, tf.pow(xs, -t)),
    };
  });
  return op(x) as T;
}

/**
 * Tempered exponential exp_t(x) = [1 + (1−t)x]_+^{1/(1−t)} (exp at t = 1): ReLU BEFORE the power,
 * as the Python reference (so t < 1 gives exact zeros for x ≤ −1/(1−t), and t > 1 gives +∞ past
 * the pole x = 1/(t−1) — never NaN). Gradient exp_t(x)^t (0 outside the support for t < 1).
 */
export function expT<T extends tf.Tensor>(x: T, t: number): T {
  asF32(x);
  if (t === 1) return tf.exp(x);
  const op = customUnary((xx: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = rawExpT(xx, t);
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [ys]: tf.Tensor[]) => tf.mul(dy, tf.pow(ys, t)),
    };
  });
  return op(x) as T;
}

/**
 * Iteration counts of the float32 tempered softmax normaliser (see `temperedLambda`), measured
 * against the float64 oracle on cpu and wasm (rows: K ∈ {3, 10, 100, 1000} × logit scale
 * {1, 5, 20}, plus one dominant logit 30 or 960 among 1000 classes and 20 among 10):
 *  - fixed point (t > 1): in exact arithmetic typical logits (spread ≤ 30, K ≤ 1000, t ≤ 2) need up
 *    to ~36 iterations for |Σp̂ − 1| < 1e-6, and one dominant logit among many classes needs
 *    hundreds (the iteration is only linearly convergent, rate → 1). 20 iterations alone leave
 *    |Σp̂ − 1| = 2e-6 at t = 1.5 and 5e-2 at t = 2 (gap 960, K = 1000); 20 iterations + 4 Newton
 *    steps give |Σp̂ − 1| ≤ 1e-7 and |p̂ − p̂64| ≤ 7e-8 for t ∈ (1, 3] in every case measured (2 Newton
 *    steps were not enough for t = 2, gap 960: 5e-4). Newton is safe from any start: f(λ) =
 *    Σexp_t(z−λ) − 1 is convex and decreasing, and steps are clamped to the bracket.
 *  - bisection (t < 1): the bracket [μ, μ − log_t(1/K)] has width ≤ 1/(1−t); 30 halvings bring it
 *    to ≤ 1e-9/(1−t), below float32 resolution, then Newton from the left end (monotone) removes
 *    the remaining bias: |Σp̂ − 1| ≤ 6e-7, |p̂ − p̂64| ≤ 9e-8 for t ∈ {0.3, 0.5, 0.8}.
 *  - All sums are pairwise (`sumLast`), so cpu and wasm give the same figures.
 */
export const TEMPERED_FIXED_POINT_ITERATIONS = 20;
export const TEMPERED_BISECTION_ITERATIONS = 30;
export const TEMPERED_NEWTON_STEPS = 4;

export interface TemperedOptions {
  /** Fixed-point iterations for t > 1 (default TEMPERED_FIXED_POINT_ITERATIONS). */
  fixedPointIterations?: number;
  /** Bisection iterations for t < 1 (default TEMPERED_BISECTION_ITERATIONS). */
  bisectionIterations?: number;
  /** Newton polishing steps after either (default TEMPERED_NEWTON_STEPS). */
  newtonSteps?: number;
}

/**
 * The normaliser λ(z) of the tempered softmax along the last axis (keepDims shape), float32:
 * Σ_k exp_t(z_k − λ) = 1. Values only: it is a sequence of tensor ops, do not differentiate
 * through it (temperedSoftmax has the proper custom gradient).
 *  - t = 1: logsumexp.
 *  - t > 1: the bi-tempered paper's fixed point (μ = max z, a⁰ = z − μ, a ← a⁰·Z^{1−t},
 *    λ = μ − log_t(1/Z)), `fixedPointIterations` times;
 *  - t < 1: bisection on λ over [μ, μ − log_t(1/K)], `bisectionIterations` times (λ = left end);
 *  - then `newtonSteps` Newton steps λ ← λ + (Σp̂ − 1)/Σp̂^t, clamped to the bracket.
 */
export function temperedLambda(z: tf.Tensor, t: number, opts: TemperedOptions = {}): tf.Tensor {
  asF32(z);
  return tf.tidy(() => {
    const { mu, rel } = temperedLambdaParts(z, t, opts);
    return tf.add(mu, rel);
  });
}

/**
 * λ split as μ + rel (μ = max z, rel = λ − μ ∈ [0, −log_t(1/K)]), plus a⁰ = z − μ. The softmax uses
 * exp_t(a⁰ − rel): with large logits (|z| ~ 1e3) forming λ = μ + rel in float32 would round away
 * ~ulp(μ) ≈ 6e-5 of rel and hence of p̂.
 */
function temperedLambdaParts(z: tf.Tensor, t: number, opts: TemperedOptions): { mu: tf.Tensor; a0: tf.Tensor; rel: tf.Tensor } {
  const axis = z.rank - 1;
  const K = z.shape[axis];
  const mu = tf.max(z, axis, true);
  const a0 = tf.sub(z, mu);
  if (t === 1) return { mu, a0, rel: tf.logSumExp(a0, axis, true) };
  const width = -logTNumber(1 / K, t); // λ − μ ∈ [0, width]
  let lam: tf.Tensor; // λ − μ
  if (t > 1) {
    const n = opts.fixedPointIterations ?? TEMPERED_FIXED_POINT_ITERATIONS;
    let Z = sumLast(rawExpT(a0, t));
    for (let i = 0; i < n; i++) {
      const next = tf.tidy(() => sumLast(rawExpT(tf.mul(a0, tf.pow(Z, 1 - t)), t)));
      Z.dispose();
      Z = next;
    }
    // λ − μ = −log_t(1/Z)
    lam = tf.tidy(() => tf.clipByValue(tf.neg(tf.div(expm1Acc(tf.mul(tf.neg(tf.log(Z)), 1 - t)), 1 - t)), 0, width));
    Z.dispose();
  } else {
    const n = opts.bisectionIterations ?? TEMPERED_BISECTION_ITERATIONS;
    let lo: tf.Tensor = tf.zerosLike(mu);
    let hi: tf.Tensor = tf.fill(mu.shape, width);
    for (let i = 0; i < n; i++) {
      const [nlo, nhi] = tf.tidy(() => {
        const mid = tf.div(tf.add(lo, hi), 2);
        const pos = tf.greater(sumLast(rawExpT(tf.sub(a0, mid), t)), 1);
        return [tf.where(pos, mid, lo), tf.where(pos, hi, mid)];
      });
      lo.dispose();
      hi.dispose();
      lo = nlo;
      hi = nhi;
    }
    hi.dispose();
    lam = lo;
  }
  const steps = opts.newtonSteps ?? TEMPERED_NEWTON_STEPS;
  for (let i = 0; i < steps; i++) {
    const next = tf.tidy(() => {
      const p = rawExpT(tf.sub(a0, lam), t);
      const f = tf.sub(sumLast(p), 1);
      const df = sumLast(tf.pow(p, t));
      return tf.clipByValue(tf.add(lam, tf.div(f, df)), 0, width);
    });
    lam.dispose();
    lam = next;
  }
  return { mu, a0, rel: lam };
}


/**
 * Sum along the last axis (keepDims) by pairwise summation: error O(log2 K·eps) instead of the
 * O(K·eps) of a sequential float32 accumulation. The wasm backend's Sum kernel accumulates in
 * float32 (for one dominant p̂ ≈ 0.94 plus 999 terms ≈ 6e-5 it is off by 3e-5, which Newton would
 * then faithfully "correct" into p̂); the cpu backend accumulates in float64. Pairwise keeps the
 * tempered softmax backend-independent.
 */
function sumLast(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const axis = x.rank - 1;
    let n = x.shape[axis];
    let cur = x;
    const begin = new Array<number>(x.rank).fill(0);
    const size = new Array<number>(x.rank).fill(-1);
    while (n > 1) {
      if (n % 2 === 1) {
        const pads = new Array<[number, number]>(x.rank).fill([0, 0]);
        pads[axis] = [0, 1];
        cur = tf.pad(cur, pads);
        n += 1;
      }
      const half = n / 2;
      size[axis] = half;
      begin[axis] = 0;
      const a = tf.slice(cur, begin, size);
      begin[axis] = half;
      const b = tf.slice(cur, begin, size);
      cur = tf.add(a, b);
      n = half;
    }
    return cur === x ? tf.clone(x) : cur;
  });
}

function logTNumber(x: number, t: number): number {
  return t === 1 ? Math.log(x) : Math.expm1((1 - t) * Math.log(x)) / (1 - t);
}

/**
 * Tempered softmax p̂ = exp_t(z − λ(z)) along the last axis (any rank; typically [batch, classes]),
 * t a number > 0. t = 1 is tf.softmax. Custom gradient from the bi-tempered paper:
 * w = p̂^t, dz = w ⊙ (dp − Σ(w ⊙ dp)/Σw) (exact for the true λ; see grammar/src/special.ts
 * `temperedSoftmaxVjp`). Rows sum to 1 within ~1e-7…6e-7 (float32), p̂ within 3e-7 of float64.
 */
export function temperedSoftmax<T extends tf.Tensor>(z: T, t: number, opts: TemperedOptions = {}): T {
  asF32(z);
  if (!(t > 0) || !Number.isFinite(t)) throw new RangeError(`temperedSoftmax: t must be a positive number, got ${t}`);
  if (t === 1) return tf.softmax(z) as T;
  const op = customUnary((zz: tf.Tensor, save: tf.GradSaveFunc) => {
    const p = tf.tidy(() => {
      const { a0, rel } = temperedLambdaParts(zz, t, opts);
      return rawExpT(tf.sub(a0, rel), t);
    });
    save([p]);
    return {
      value: p,
      gradFunc: (dy: tf.Tensor, [ps]: tf.Tensor[]) => {
        const w = tf.pow(ps, t);
        const m = tf.div(sumLast(tf.mul(w, dy)), sumLast(w));
        return tf.mul(w, tf.sub(dy, m));
      },
    };
  });
  return op(z) as T;
}
