/**
 * The JAX target: jax.numpy, jax.nn and jax.scipy.special (i0, i0e, i1, i1e, erf, erfc), the
 * tempered softmax as a jax.custom_jvp (the bi-tempered paper's derivative) with its normaliser
 * in lax.while_loop. Checked for syntax and structure only: JAX cannot be installed where
 * Lossmith's tests run.
 */
import { EPS } from '../builtins';
import { besselHelpers } from './bessel';
import { arg, HELPER_CALL_TEMPLATES, helper1, MINUS_LN2, OPERATOR_TEMPLATES, operand, pyNumber } from './common';
import { PREC, type Helper, type TargetSpec, type Template, type TemplateTable } from './types';

const E = pyNumber(EPS);

const fn1 = (f: string): Template => (a) => `${f}(${arg(a[0])})`;
const reduce = (f: string): Template => (a) => `${f}(${arg(a[0])}, axis=-1, keepdims=True)`;
/** Reductions over the pixel axis (task segmentation: [N, P, C]) keep it too. */
const reducePx = (f: string): Template => (a) => `${f}(${arg(a[0])}, axis=-2, keepdims=True)`;

export const JAX_TEMPLATES: TemplateTable = {
  ...OPERATOR_TEMPLATES,
  log: fn1('jnp.log'),
  exp: fn1('jnp.exp'),
  sqrt: fn1('jnp.sqrt'),
  abs: fn1('jnp.abs'),
  sign: fn1('jnp.sign'),
  step: helper1('_step'),
  square: fn1('jnp.square'),
  log1p: fn1('jnp.log1p'),
  expm1: fn1('jnp.expm1'),
  sin: fn1('jnp.sin'),
  cos: fn1('jnp.cos'),
  tanh: fn1('jnp.tanh'),
  sinh: fn1('jnp.sinh'),
  cosh: fn1('jnp.cosh'),
  asinh: fn1('jnp.arcsinh'),
  atan: fn1('jnp.arctan'),
  sigmoid: fn1('jax.nn.sigmoid'),
  softplus: fn1('jax.nn.softplus'),
  erf: fn1('jax.scipy.special.erf'),
  erfc: fn1('jax.scipy.special.erfc'),
  ln: (a) => `jnp.log(jnp.abs(${arg(a[0])}) + ${E})`,
  log10: (a) => `jnp.log10(jnp.abs(${arg(a[0])}) + ${E})`,
  reciprocal: (a) => ({ code: `1 / (${arg(a[0])} + ${E})`, prec: PREC.mul }),
  inv1p_abs: (a) => ({ code: `1 / (1 + jnp.abs(${arg(a[0])}))`, prec: PREC.mul }),
  softsign: fn1('jax.nn.soft_sign'),
  sqrt_abs: (a) => `jnp.sqrt(jnp.abs(${arg(a[0])}))`,
  dtanh: (a) => ({ code: `1 - jnp.tanh(${arg(a[0])}) ** 2`, prec: PREC.add }),
  dsigmoid: helper1('_dsigmoid'),
  pdiv: (a) => ({ code: `${operand(a[0], PREC.mul)} / (${arg(a[1])} + ${E})`, prec: PREC.mul }),
  aq: (a) => ({ code: `${operand(a[0], PREC.mul)} / jnp.sqrt(1 + ${operand(a[1], PREC.pow + 1)} ** 2)`, prec: PREC.mul }),
  max2: (a) => `jnp.maximum(${arg(a[0])}, ${arg(a[1])})`,
  min2: (a) => `jnp.minimum(${arg(a[0])}, ${arg(a[1])})`,
  clamp: (a) => `jnp.clip(${a.map(arg).join(', ')})`,
  i0: fn1('jax.scipy.special.i0'),
  i1: fn1('jax.scipy.special.i1'),
  i0e: fn1('jax.scipy.special.i0e'),
  i1e: fn1('jax.scipy.special.i1e'),
  ...HELPER_CALL_TEMPLATES,
  sum: reduce('jnp.sum'),
  mean: reduce('jnp.mean'),
  max: reduce('jnp.max'),
  min: reduce('jnp.min'),
  logsumexp: reduce('jax.scipy.special.logsumexp'),
  softmax: (a) => `jax.nn.softmax(${arg(a[0])}, axis=-1)`,
  log_softmax: (a) => `jax.nn.log_softmax(${arg(a[0])}, axis=-1)`,
  stop_gradient: fn1('jax.lax.stop_gradient'),
  sum_px: reducePx('jnp.sum'),
  mean_px: reducePx('jnp.mean'),
};

const TEMPERED: Record<string, Helper> = {
  log_t: {
    code: `def log_t(x, t):
    """Tempered logarithm (x^(1-t) - 1) / (1 - t); log(x) at t = 1 (Amid et al., NeurIPS 2019).
    Computed as expm1((1-t) log x) / (1-t), accurate as t -> 1. t is a Python number."""
    if t == 1:
        return jnp.log(x)
    return jnp.expm1((1 - t) * jnp.log(x)) / (1 - t)
`,
  },
  exp_t: {
    code: `def exp_t(x, t):
    """Tempered exponential [1 + (1-t) x]_+^(1/(1-t)); exp(x) at t = 1 (Amid et al., NeurIPS 2019).
    The positive part is taken before the power (relu, then pow), as in the paper's code.
    t is a Python number."""
    if t == 1:
        return jnp.exp(x)
    return jax.nn.relu(1 + (1 - t) * x) ** (1 / (1 - t))
`,
  },
  _tempered_normalization: {
    deps: ['log_t', 'exp_t'],
    code: `def _tempered_normalization(a, t):
    """lambda - max(z) for a = z - max(z): the root of sum_k exp_t(a_k - lambda, t) = 1, in [0, width].
    t > 1: the paper's fixed point, run to convergence (not a fixed 5 steps); t < 1: bisection;
    then safeguarded Newton steps (the residual is convex and decreasing in lambda)."""
    k = a.shape[-1]
    width = (1 - k ** (t - 1)) / (1 - t)  # -log_t(1/k, t)
    tol = max(1e-15, 4 * float(jnp.finfo(a.dtype).eps))
    if t > 1:
        def fixed_point(state):
            i, total, _ = state
            new = jnp.sum(exp_t(a * total ** (1 - t), t), axis=-1, keepdims=True)
            return i + 1, new, jnp.all(jnp.abs(new - total) <= tol * new)

        total = jnp.sum(exp_t(a, t), axis=-1, keepdims=True)
        _, total, _ = jax.lax.while_loop(
            lambda s: (s[0] < 500) & ~s[2], fixed_point, (jnp.asarray(0), total, jnp.asarray(False)))
        rel = -log_t(1 / total, t)
        rel = jnp.where((rel >= 0) & (rel <= width), rel, width / 2)
    else:
        def unfinished(state):
            i, lo, hi = state
            mid = lo + (hi - lo) / 2
            return (i < 2000) & jnp.any((mid > lo) & (mid < hi))

        def bisect(state):
            i, lo, hi = state
            mid = lo + (hi - lo) / 2
            above = jnp.sum(exp_t(a - mid, t), axis=-1, keepdims=True) > 1
            return i + 1, jnp.where(above, mid, lo), jnp.where(above, hi, mid)

        lo = jnp.zeros_like(a[..., :1])
        _, lo, hi = jax.lax.while_loop(unfinished, bisect, (jnp.asarray(0), lo, jnp.full_like(lo, width)))
        rel = lo + (hi - lo) / 2
    if t > 0:
        def newton(_, rel):
            e = exp_t(a - rel, t)
            f = jnp.sum(e, axis=-1, keepdims=True) - 1
            df = jnp.sum(e ** t, axis=-1, keepdims=True)
            nxt = jnp.clip(rel + f / df, 0, width)
            better = jnp.abs(jnp.sum(exp_t(a - nxt, t), axis=-1, keepdims=True) - 1) < jnp.abs(f)
            return jnp.where(better, nxt, rel)

        rel = jax.lax.fori_loop(0, 10, newton, rel)
    return rel
`,
  },
  _tempered_softmax: {
    deps: ['_tempered_normalization', 'exp_t'],
    imports: ['import functools'],
    code: `@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _tempered_softmax(z, t):
    a = z - jnp.max(z, axis=-1, keepdims=True)
    return exp_t(a - _tempered_normalization(a, t), t)


@_tempered_softmax.defjvp
def _tempered_softmax_jvp(t, primals, tangents):
    """The bi-tempered paper's derivative: for w = p^t, dp = w * (dz - sum(w * dz) / sum(w))."""
    (z,), (dz,) = primals, tangents
    p = _tempered_softmax(z, t)
    w = p ** t
    return p, w * (dz - jnp.sum(w * dz, axis=-1, keepdims=True) / jnp.sum(w, axis=-1, keepdims=True))
`,
  },
  tempered_softmax: {
    deps: ['_tempered_softmax'],
    code: `def tempered_softmax(z, t):
    """Tempered softmax over the last axis: exp_t(z - lambda(z), t) with lambda such that it sums to 1
    (Amid et al., NeurIPS 2019); softmax at t = 1, heavy-tailed for t > 1, exact zeros for t < 1.
    The temperature t is a Python number (no gradient with respect to it)."""
    t = float(t)
    if t == 1:
        return jax.nn.softmax(z, axis=-1)
    return _tempered_softmax(z, t)
`,
  },
};

export const JAX_HELPERS: Record<string, Helper> = {
  log1m_softmax: {
    code: `def log1m_softmax(z):
    """log(1 - softmax(z)) over the last axis, finite where softmax(z) rounds to 1: log1p(-p) where
    p <= 1/2; at the largest logit (the only class that can be above 1/2), lo - softplus(lo) with
    lo = logsumexp of the other logits minus the largest, the log of their total relative to it."""
    log_p = jax.nn.log_softmax(z, axis=-1)
    low = jnp.log1p(-jnp.exp(jnp.minimum(log_p, ${MINUS_LN2})))
    top = jax.nn.one_hot(jnp.argmax(z, axis=-1), z.shape[-1], dtype=bool)
    s = z - jnp.max(z, axis=-1, keepdims=True)
    lo = jax.scipy.special.logsumexp(jnp.where(top, -float('inf'), s), axis=-1, keepdims=True)
    return jnp.where(log_p <= ${MINUS_LN2}, low, lo - jax.nn.softplus(lo))
`,
  },
  _step: {
    code: `def _step(x):
    """Heaviside step: 1 where x >= 0, else 0 (zero gradient)."""
    return jnp.where(x >= 0, 1, 0).astype(x.dtype)
`,
  },
  _dsigmoid: {
    code: `def _dsigmoid(x):
    """sigmoid(x) (1 - sigmoid(x))."""
    s = jax.nn.sigmoid(x)
    return s * (1 - s)
`,
  },
  ...besselHelpers({
    where: 'jnp.where',
    abs: 'jnp.abs',
    onesLike: 'jnp.ones_like',
    zerosLike: 'jnp.zeros_like',
    cos: 'jnp.cos',
    sin: 'jnp.sin',
    sqrt: 'jnp.sqrt',
    exp: 'jnp.exp',
    sign: 'jnp.sign',
    i1: 'jax.scipy.special.i1',
    i1e: 'jax.scipy.special.i1e',
  }),
  ...TEMPERED,
};

export const JAX: TargetSpec = {
  target: 'jax',
  label: 'JAX',
  imports: ['import jax', 'import jax.numpy as jnp', 'import jax.scipy.special'],
  table: JAX_TEMPLATES,
  helpers: JAX_HELPERS,
  tensor: (c, ref) => `jnp.asarray(${c}, dtype=${ref}.dtype)`,
  column: (n) => `jnp.asarray(${n})[..., None]`,
  prologue: ['logits = jnp.asarray(logits)'],
  targetLines: () => [
    'target = jnp.asarray(target)',
    'if jnp.issubdtype(target.dtype, jnp.integer):',
    '    y = jax.nn.one_hot(target, logits.shape[-1], dtype=logits.dtype)  # class indices',
    'else:',
    '    y = target.astype(logits.dtype)  # a distribution over classes: one-hot or soft',
  ],
  classes: 'logits.shape[-1]',
  softmax: (z) => `jax.nn.softmax(${z}, axis=-1)`,
  logSoftmax: (z) => `jax.nn.log_softmax(${z}, axis=-1)`,
  finish: (e, ref) =>
    e.kind === 'const' ? `jnp.broadcast_to(jnp.asarray(${e.code}, dtype=${ref}.dtype), ${ref}.shape[:-1])` : `jnp.squeeze(${e.code}, axis=-1)`,
  reserved: ['jax', 'jnp', 'functools', 'logits', 'target', 'y', 'p', 'C', 'log_p'],
  usage: (fn) => [
    `loss = jnp.mean(${fn}(logits, labels))  # logits [N, C]; labels: class indices [N] or probabilities [N, C]`,
    `grads = jax.grad(lambda w: jnp.mean(${fn}(model(w, x), labels)))(w)`,
  ],
  image: {
    layout: '[N, H, W, C]',
    indexLayout: '[N, H, W]',
    flatten: (n) => `jnp.asarray(${n}).reshape(jnp.shape(${n})[0], -1, jnp.shape(${n})[-1])  # [N, H, W, C] -> [N, P, C], P = H * W pixels`,
    targetLines: () => [
      'target = jnp.asarray(target)',
      'if jnp.issubdtype(target.dtype, jnp.integer):',
      '    y = jax.nn.one_hot(target.reshape(target.shape[0], -1), logits.shape[-1], dtype=logits.dtype)  # class indices [N, H, W]',
      'else:',
      '    y = target.astype(logits.dtype).reshape(logits.shape)  # per-pixel distributions [N, H, W, C]',
    ],
    pixels: 'logits.shape[-2]',
    finish: (e, ref) =>
      e.kind === 'const' ? `jnp.broadcast_to(jnp.asarray(${e.code}, dtype=${ref}.dtype), ${ref}.shape[:1])` : `jnp.reshape(${e.code}, (-1,))`,
    usage: (fn) => [`loss = jnp.mean(${fn}(logits, labels))  # logits [N, H, W, C]; labels: class indices [N, H, W] or probabilities [N, H, W, C]`],
  },
};
