/**
 * Python source of the Bessel helpers the libraries lack (J0, J1 and the quotients I1(x)/x,
 * i1e(x)/x, J1(x)/x), written once over a numpy-like namespace so PyTorch, jax.numpy and
 * TensorFlow get the same algorithm as the float64 oracle (grammar/src/special.ts):
 *
 *  - J0, J1: the same Chebyshev tables (SPECIAL_TABLES) — |x| <= 8: the first two zeros factored
 *    out, times a Chebyshev expansion in x²/32 - 1; |x| > 8: Hankel's modulus/phase form with
 *    expansions in 128/x² - 1. Plain differentiable array code: both branches are evaluated at
 *    safe arguments (the "double where"), so autodiff never meets inf or NaN in the unused one.
 *  - I1(x)/x, i1e(x)/x, J1(x)/x: the power series in x² for |x| < 1 (no cancellation in the value
 *    or its derivative near 0, where the quotient tends to 1/2), the library function over x above.
 */
import { SPECIAL_TABLES } from '../special';
import { pyNumber, pyTuple } from './common';
import type { Helper } from './types';

/** Names of the array functions in one target's namespace. */
export interface ArrayNs {
  where: string;
  abs: string;
  onesLike: string;
  zerosLike: string;
  cos: string;
  sin: string;
  sqrt: string;
  exp: string;
  sign: string;
  /** Modified Bessel I1 and its scaled form, from the library. */
  i1: string;
  i1e: string;
}

/** Coefficients of x^(2k) in I1(x)/x (sign = 1) or J1(x)/x (sign = -1), k = 0..8: ±1/(2·4^k·k!·(k+1)!). */
function quotientSeries(sign: 1 | -1): number[] {
  const out: number[] = [];
  let fk = 1; // k!
  let fk1 = 1; // (k+1)!
  for (let k = 0; k <= 8; k++) {
    if (k > 0) {
      fk *= k;
      fk1 *= k + 1;
    }
    out.push((sign ** k) / (2 * 4 ** k * fk * fk1));
  }
  return out;
}

const T = SPECIAL_TABLES;
const zeros = (name: string, z: readonly [number, number]): string => `${name} = (${pyNumber(z[0])}, ${pyNumber(z[1])})`;

export function besselHelpers(ns: ArrayNs): Record<string, Helper> {
  const { where, abs, onesLike, zerosLike, cos, sin, sqrt } = ns;
  return {
    _cheb: {
      code: `def _cheb(c, s):
    """Clenshaw evaluation of sum_k c[k] T_k(s), s in [-1, 1] (c[0] not doubled)."""
    b1 = ${zerosLike}(s)
    b2 = ${zerosLike}(s)
    for ck in c[:0:-1]:
        b1, b2 = ck + 2 * s * b1 - b2, b1
    return c[0] + s * b1 - b2
`,
    },
    _poly: {
      code: `def _poly(c, q):
    """Horner evaluation of sum_k c[k] q^k."""
    r = c[-1] + 0 * q
    for ck in c[-2::-1]:
        r = r * q + ck
    return r
`,
    },
    _J0_TABLES: {
      code: `# Chebyshev tables of J0 (Lossmith's float64 oracle, mpmath-fitted): inner |x| <= 8, Hankel P0, Q0 above.
_J0_IN = ${pyTuple(T.J0_IN.c)}
_P0 = ${pyTuple(T.P0.c)}
_Q0 = ${pyTuple(T.Q0.c)}
${zeros('_J01', T.zeros.J01)}  # first zero of J0, as hi + lo
${zeros('_J02', T.zeros.J02)}
`,
    },
    _J1_TABLES: {
      code: `# Chebyshev tables of J1 (Lossmith's float64 oracle, mpmath-fitted): inner |x| <= 8, Hankel P1, Q1 above.
_J1_IN = ${pyTuple(T.J1_IN.c)}
_P1 = ${pyTuple(T.P1.c)}
_Q1 = ${pyTuple(T.Q1.c)}
${zeros('_J11', T.zeros.J11)}  # first zero of J1, as hi + lo
${zeros('_J12', T.zeros.J12)}
`,
    },
    _j1_over_x_inner: {
      deps: ['_cheb', '_J1_TABLES'],
      code: `def _j1_over_x_inner(ax):
    """J1(x)/x for 0 <= ax <= 8: zeros j11, j12 factored out, times a Chebyshev expansion in x²."""
    return ((ax - _J11[0] - _J11[1]) * (ax + _J11[0]) * (ax - _J12[0] - _J12[1]) * (ax + _J12[0])
            * _cheb(_J1_IN, ax * ax / 32 - 1))
`,
    },
    _SQRT_PI: {
      code: `_SQRT_PI = 1.7724538509055160273
`,
    },
    bessel_j0: {
      deps: ['_cheb', '_J0_TABLES', '_SQRT_PI'],
      code: `def bessel_j0(x):
    """Bessel function of the first kind J0 (even), differentiable: J0' = -J1."""
    ax = ${abs}(x)
    inner = ax <= 8
    xi = ${where}(inner, ax, ${zerosLike}(ax))
    xo = ${where}(inner, 8 * ${onesLike}(ax), ax)
    j_in = ((xi - _J01[0] - _J01[1]) * (xi + _J01[0]) * (xi - _J02[0] - _J02[1]) * (xi + _J02[0])
            * _cheb(_J0_IN, xi * xi / 32 - 1))
    s = 128 / (xo * xo) - 1
    p = _cheb(_P0, s)
    q = 8 / xo * _cheb(_Q0, s)
    c = ${cos}(xo)
    sn = ${sin}(xo)
    j_out = (p * (c + sn) - q * (sn - c)) / (_SQRT_PI * ${sqrt}(xo))
    return ${where}(inner, j_in, j_out)
`,
    },
    bessel_j1: {
      deps: ['_cheb', '_J1_TABLES', '_SQRT_PI', '_j1_over_x_inner'],
      code: `def bessel_j1(x):
    """Bessel function of the first kind J1 (odd), differentiable: J1' = J0 - J1/x."""
    ax = ${abs}(x)
    inner = ax <= 8
    xi = ${where}(inner, ax, ${zerosLike}(ax))
    xo = ${where}(inner, 8 * ${onesLike}(ax), ax)
    s = 128 / (xo * xo) - 1
    p = _cheb(_P1, s)
    q = 8 / xo * _cheb(_Q1, s)
    c = ${cos}(xo)
    sn = ${sin}(xo)
    j_out = (p * (sn - c) + q * (sn + c)) / (_SQRT_PI * ${sqrt}(xo))
    return ${where}(inner, x * _j1_over_x_inner(xi), ${ns.sign}(x) * j_out)
`,
    },
    bessel_j1x: {
      deps: ['bessel_j1', '_j1_over_x_inner'],
      code: `def bessel_j1x(x):
    """J1(x)/x, 1/2 at x = 0 (no division for |x| <= 8)."""
    ax = ${abs}(x)
    inner = ax <= 8
    xi = ${where}(inner, ax, ${zerosLike}(ax))
    xo = ${where}(inner, 8 * ${onesLike}(ax), ax)
    return ${where}(inner, _j1_over_x_inner(xi), bessel_j1(xo) / xo)
`,
    },
    _I1X_SERIES: {
      code: `# Coefficients of x^(2k) in I1(x)/x = sum_k (x²/4)^k / (2 k! (k+1)!), enough for |x| < 1 in float64.
_I1X_SERIES = ${pyTuple(quotientSeries(1))}
`,
    },
    bessel_i1x: {
      deps: ['_poly', '_I1X_SERIES'],
      code: `def bessel_i1x(x):
    """I1(x)/x, 1/2 at x = 0: power series for |x| < 1, the library's I1 over x above."""
    small = ${abs}(x) < 1
    xs = ${where}(small, x, ${zerosLike}(x))
    xd = ${where}(small, ${onesLike}(x), x)
    return ${where}(small, _poly(_I1X_SERIES, xs * xs), ${ns.i1}(xd) / xd)
`,
    },
    bessel_i1ex: {
      deps: ['_poly', '_I1X_SERIES'],
      code: `def bessel_i1ex(x):
    """i1e(x)/x = exp(-|x|) I1(x)/x, 1/2 at x = 0: power series for |x| < 1, the library's i1e over x above."""
    small = ${abs}(x) < 1
    xs = ${where}(small, x, ${zerosLike}(x))
    xd = ${where}(small, ${onesLike}(x), x)
    return ${where}(small, ${ns.exp}(-${abs}(xs)) * _poly(_I1X_SERIES, xs * xs), ${ns.i1e}(xd) / xd)
`,
    },
  };
}
