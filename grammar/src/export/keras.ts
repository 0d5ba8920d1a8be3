/**
 * The Keras / TensorFlow target: tf.math (bessel_i0, bessel_i0e, bessel_i1, bessel_i1e, erf, ...),
 * tf.nn, the tempered softmax as a tf.custom_gradient (the bi-tempered paper's gradient) with its
 * normaliser in tf.while_loop, so the function also runs inside tf.function / model.fit. Constants
 * are cast to the logits' dtype (TensorFlow does not promote float32 to float64). Checked for
 * syntax and structure only: TensorFlow cannot be installed where Lossmith's tests run.
 */
import { EPS } from '../builtins';
import { besselHelpers } from './bessel';
import { arg, HELPER_CALL_TEMPLATES, helper1, MINUS_LN2, OPERATOR_TEMPLATES, operand, pyNumber } from './common';
import { PREC, type Helper, type TargetSpec, type Template, type TemplateTable } from './types';

const E = pyNumber(EPS);
const LN10 = pyNumber(Math.LN10);

const fn1 = (f: string): Template => (a, cx) => `${f}(${cx.tensor(a[0])})`;
const reduce = (f: string): Template => (a) => `${f}(${arg(a[0])}, axis=-1, keepdims=True)`;
/** Reductions over the pixel axis (task segmentation: [N, P, C]) keep it too. */
const reducePx = (f: string): Template => (a) => `${f}(${arg(a[0])}, axis=-2, keepdims=True)`;

export const KERAS_TEMPLATES: TemplateTable = {
  ...OPERATOR_TEMPLATES,
  log: fn1('tf.math.log'),
  exp: fn1('tf.math.exp'),
  sqrt: fn1('tf.math.sqrt'),
  abs: fn1('tf.math.abs'),
  sign: fn1('tf.math.sign'),
  step: helper1('_step'),
  square: fn1('tf.math.square'),
  log1p: fn1('tf.math.log1p'),
  expm1: fn1('tf.math.expm1'),
  sin: fn1('tf.math.sin'),
  cos: fn1('tf.math.cos'),
  tanh: fn1('tf.math.tanh'),
  sinh: fn1('tf.math.sinh'),
  cosh: fn1('tf.math.cosh'),
  asinh: fn1('tf.math.asinh'),
  atan: fn1('tf.math.atan'),
  sigmoid: fn1('tf.math.sigmoid'),
  softplus: fn1('tf.math.softplus'),
  erf: fn1('tf.math.erf'),
  erfc: fn1('tf.math.erfc'),
  ln: (a, cx) => `tf.math.log(tf.math.abs(${cx.tensor(a[0])}) + ${E})`,
  log10: (a, cx) => ({ code: `tf.math.log(tf.math.abs(${cx.tensor(a[0])}) + ${E}) / ${LN10}`, prec: PREC.mul }),
  reciprocal: (a, cx) => ({ code: `1 / (${cx.tensor(a[0])} + ${E})`, prec: PREC.mul }),
  inv1p_abs: (a, cx) => ({ code: `1 / (1 + tf.math.abs(${cx.tensor(a[0])}))`, prec: PREC.mul }),
  softsign: fn1('tf.nn.softsign'),
  sqrt_abs: (a, cx) => `tf.math.sqrt(tf.math.abs(${cx.tensor(a[0])}))`,
  dtanh: (a, cx) => ({ code: `1 - tf.math.tanh(${cx.tensor(a[0])}) ** 2`, prec: PREC.add }),
  dsigmoid: helper1('_dsigmoid'),
  pdiv: (a) => ({ code: `${operand(a[0], PREC.mul)} / (${arg(a[1])} + ${E})`, prec: PREC.mul }),
  aq: (a, cx) => ({ code: `${operand(a[0], PREC.mul)} / tf.math.sqrt(1 + ${cx.tensor(a[1], PREC.pow + 1)} ** 2)`, prec: PREC.mul }),
  max2: (a, cx) => `tf.math.maximum(${cx.tensor(a[0])}, ${cx.tensor(a[1])})`,
  min2: (a, cx) => `tf.math.minimum(${cx.tensor(a[0])}, ${cx.tensor(a[1])})`,
  clamp: (a, cx) =>
    a[1].kind === 'const' && a[2].kind === 'const'
      ? `tf.clip_by_value(${cx.tensor(a[0])}, ${arg(a[1])}, ${arg(a[2])})`
      : `tf.math.minimum(tf.math.maximum(${cx.tensor(a[0])}, ${cx.tensor(a[1])}), ${cx.tensor(a[2])})`,
  i0: fn1('tf.math.bessel_i0'),
  i1: fn1('tf.math.bessel_i1'),
  i0e: fn1('tf.math.bessel_i0e'),
  i1e: fn1('tf.math.bessel_i1e'),
  ...HELPER_CALL_TEMPLATES,
  sum: reduce('tf.reduce_sum'),
  mean: reduce('tf.reduce_mean'),
  max: reduce('tf.reduce_max'),
  min: reduce('tf.reduce_min'),
  logsumexp: reduce('tf.reduce_logsumexp'),
  softmax: (a) => `tf.nn.softmax(${arg(a[0])}, axis=-1)`,
  log_softmax: (a) => `tf.nn.log_softmax(${arg(a[0])}, axis=-1)`,
  stop_gradient: (a, cx) => `tf.stop_gradient(${cx.tensor(a[0])})`,
  sum_px: reducePx('tf.reduce_sum'),
  mean_px: reducePx('tf.reduce_mean'),
};

const TEMPERED: Record<string, Helper> = {
  log_t: {
    code: `def log_t(x, t):
    """Tempered logarithm (x^(1-t) - 1) / (1 - t); log(x) at t = 1 (Amid et al., NeurIPS 2019).
    Computed as expm1((1-t) log x) / (1-t), accurate as t -> 1. t is a Python number."""
    if t == 1:
        return tf.math.log(x)
    return tf.math.expm1((1 - t) * tf.math.log(x)) / (1 - t)
`,
  },
  exp_t: {
    code: `def exp_t(x, t):
    """Tempered exponential [1 + (1-t) x]_+^(1/(1-t)); exp(x) at t = 1 (Amid et al., NeurIPS 2019).
    The positive part is taken before the power (relu, then pow), as in the paper's code
    (the TF.js port's relu-after-pow gives NaN for t > 1). t is a Python number."""
    if t == 1:
        return tf.math.exp(x)
    return tf.nn.relu(1 + (1 - t) * x) ** (1 / (1 - t))
`,
  },
  _tempered_normalization: {
    deps: ['log_t', 'exp_t'],
    code: `def _tempered_normalization(a, t):
    """lambda - max(z) for a = z - max(z): the root of sum_k exp_t(a_k - lambda, t) = 1, in [0, width].
    t > 1: the paper's fixed point, run to convergence (not a fixed 5 steps); t < 1: bisection;
    then safeguarded Newton steps (the residual is convex and decreasing in lambda)."""
    k = tf.cast(tf.shape(a)[-1], a.dtype)
    width = (1 - k ** (t - 1)) / (1 - t)  # -log_t(1/k, t)
    tol = 1e-15 if a.dtype == tf.float64 else 5e-7
    if t > 1:
        def fixed_point(i, total, done):
            new = tf.reduce_sum(exp_t(a * total ** (1 - t), t), axis=-1, keepdims=True)
            return i + 1, new, tf.reduce_all(tf.math.abs(new - total) <= tol * new)

        total = tf.reduce_sum(exp_t(a, t), axis=-1, keepdims=True)
        _, total, _ = tf.while_loop(
            lambda i, total, done: tf.logical_and(i < 500, tf.logical_not(done)),
            fixed_point, (tf.constant(0), total, tf.constant(False)))
        rel = -log_t(1 / total, t)
        rel = tf.where((rel >= 0) & (rel <= width), rel, width / 2 * tf.ones_like(rel))
    else:
        def unfinished(i, lo, hi):
            mid = lo + (hi - lo) / 2
            return tf.logical_and(i < 2000, tf.reduce_any((mid > lo) & (mid < hi)))

        def bisect(i, lo, hi):
            mid = lo + (hi - lo) / 2
            above = tf.reduce_sum(exp_t(a - mid, t), axis=-1, keepdims=True) > 1
            return i + 1, tf.where(above, mid, lo), tf.where(above, hi, mid)

        lo = tf.zeros_like(a[..., :1])
        _, lo, hi = tf.while_loop(unfinished, bisect, (tf.constant(0), lo, width * tf.ones_like(lo)))
        rel = lo + (hi - lo) / 2
    if t > 0:
        for _ in range(10):  # safeguarded Newton steps (a step is kept only if it lowers the residual)
            e = exp_t(a - rel, t)
            f = tf.reduce_sum(e, axis=-1, keepdims=True) - 1
            df = tf.reduce_sum(e ** t, axis=-1, keepdims=True)
            nxt = tf.clip_by_value(rel + f / df, tf.zeros_like(rel), width * tf.ones_like(rel))
            better = tf.math.abs(tf.reduce_sum(exp_t(a - nxt, t), axis=-1, keepdims=True) - 1) < tf.math.abs(f)
            rel = tf.where(better, nxt, rel)
    return rel
`,
  },
  tempered_softmax: {
    deps: ['_tempered_normalization', 'exp_t'],
    code: `def tempered_softmax(z, t):
    """Tempered softmax over the last axis: exp_t(z - lambda(z), t) with lambda such that it sums to 1
    (Amid et al., NeurIPS 2019); softmax at t = 1, heavy-tailed for t > 1, exact zeros for t < 1.
    Gradient: the bi-tempered paper's, for w = p^t: dz = w * (dp - sum(w * dp) / sum(w)).
    The temperature t is a Python number (no gradient with respect to it)."""
    t = float(t)
    if t == 1:
        return tf.nn.softmax(z, axis=-1)

    @tf.custom_gradient
    def forward(z):
        a = z - tf.reduce_max(z, axis=-1, keepdims=True)
        p = exp_t(a - _tempered_normalization(a, t), t)

        def grad(dp):
            w = p ** t
            return w * (dp - tf.reduce_sum(w * dp, axis=-1, keepdims=True) / tf.reduce_sum(w, axis=-1, keepdims=True))

        return p, grad

    return forward(z)
`,
  },
};

export const KERAS_HELPERS: Record<string, Helper> = {
  log1m_softmax: {
    code: `def log1m_softmax(z):
    """log(1 - softmax(z)) over the last axis, finite where softmax(z) rounds to 1: log1p(-p) where
    p <= 1/2; at the largest logit (the only class that can be above 1/2), lo - softplus(lo) with
    lo = logsumexp of the other logits minus the largest, the log of their total relative to it."""
    log_p = tf.nn.log_softmax(z, axis=-1)
    low = tf.math.log1p(-tf.math.exp(tf.math.minimum(log_p, ${MINUS_LN2})))
    top = tf.cast(tf.one_hot(tf.argmax(z, axis=-1), tf.shape(z)[-1]), tf.bool)
    s = z - tf.reduce_max(z, axis=-1, keepdims=True)
    lo = tf.reduce_logsumexp(tf.where(top, tf.zeros_like(s) - float('inf'), s), axis=-1, keepdims=True)
    return tf.where(log_p <= ${MINUS_LN2}, low, lo - tf.math.softplus(lo))
`,
  },
  _step: {
    code: `def _step(x):
    """Heaviside step: 1 where x >= 0, else 0 (zero gradient)."""
    return tf.cast(x >= 0, x.dtype)
`,
  },
  _dsigmoid: {
    code: `def _dsigmoid(x):
    """sigmoid(x) (1 - sigmoid(x))."""
    s = tf.math.sigmoid(x)
    return s * (1 - s)
`,
  },
  ...besselHelpers({
    where: 'tf.where',
    abs: 'tf.math.abs',
    onesLike: 'tf.ones_like',
    zerosLike: 'tf.zeros_like',
    cos: 'tf.math.cos',
    sin: 'tf.math.sin',
    sqrt: 'tf.math.sqrt',
    exp: 'tf.math.exp',
    sign: 'tf.math.sign',
    i1: 'tf.math.bessel_i1',
    i1e: 'tf.math.bessel_i1e',
  }),
  ...TEMPERED,
};

export const KERAS: TargetSpec = {
  target: 'keras',
  label: 'Keras/TensorFlow',
  imports: ['import tensorflow as tf'],
  table: KERAS_TEMPLATES,
  helpers: KERAS_HELPERS,
  tensor: (c, ref) => `tf.cast(${c}, ${ref}.dtype)`,
  column: (n) => `tf.convert_to_tensor(${n})[..., None]`,
  prologue: ['logits = tf.convert_to_tensor(logits)'],
  targetLines: () => [
    'target = tf.convert_to_tensor(target)',
    '# Class indices: integers, or (as Keras passes sparse labels) a trailing axis of size 1.',
    'if target.dtype.is_integer or (target.shape.rank == logits.shape.rank and target.shape[-1] == 1):',
    '    if target.shape.rank == logits.shape.rank:',
    '        target = tf.squeeze(target, axis=-1)',
    '    y = tf.one_hot(tf.cast(target, tf.int32), tf.shape(logits)[-1], dtype=logits.dtype)',
    'else:',
    '    y = tf.cast(target, logits.dtype)  # a distribution over classes: one-hot or soft',
  ],
  classes: 'tf.cast(tf.shape(logits)[-1], logits.dtype)',
  softmax: (z) => `tf.nn.softmax(${z}, axis=-1)`,
  logSoftmax: (z) => `tf.nn.log_softmax(${z}, axis=-1)`,
  finish: (e, ref) =>
    e.kind === 'const' ? `tf.broadcast_to(tf.cast(${e.code}, ${ref}.dtype), tf.shape(${ref})[:-1])` : `tf.squeeze(${e.code}, axis=-1)`,
  reserved: ['tf', 'logits', 'target', 'y', 'p', 'C', 'log_p'],
  usage: (fn) => [
    `loss = tf.reduce_mean(${fn}(logits, labels))  # logits [N, C]; labels: class indices [N] or probabilities [N, C]`,
    `model.compile(optimizer='adam', loss=lambda y_true, y_pred: ${fn}(y_pred, y_true))  # model outputs logits`,
  ],
  image: {
    layout: '[N, H, W, C]',
    indexLayout: '[N, H, W]',
    flatten: (n) => `tf.reshape(tf.convert_to_tensor(${n}), [tf.shape(${n})[0], -1, tf.shape(${n})[-1]])  # [N, H, W, C] -> [N, P, C], P = H * W pixels`,
    targetLines: () => [
      'target = tf.convert_to_tensor(target)',
      '# Class indices: integers, or (as Keras passes sparse labels) a trailing axis of size 1.',
      'if target.dtype.is_integer or target.shape[-1] == 1:',
      '    y = tf.one_hot(tf.reshape(tf.cast(target, tf.int32), [tf.shape(target)[0], -1]), tf.shape(logits)[-1], dtype=logits.dtype)',
      'else:',
      '    y = tf.reshape(tf.cast(target, logits.dtype), tf.shape(logits))  # per-pixel distributions [N, H, W, C]',
    ],
    pixels: 'tf.cast(tf.shape(logits)[-2], logits.dtype)',
    finish: (e, ref) => (e.kind === 'const' ? `tf.broadcast_to(tf.cast(${e.code}, ${ref}.dtype), tf.shape(${ref})[:1])` : `tf.reshape(${e.code}, [-1])`),
    usage: (fn) => [`loss = tf.reduce_mean(${fn}(logits, labels))  # logits [N, H, W, C]; labels: class indices [N, H, W] or probabilities [N, H, W, C]`],
  },
};
