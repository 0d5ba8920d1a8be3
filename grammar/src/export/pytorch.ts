/**
 * The PyTorch target: one template per builtin (torch, torch.nn.functional, torch.special) and
 * the helpers torch lacks — J0/J1 (torch.special.bessel_j0 has no autograd in 1.13 and does not
 * exist before it), the Bessel quotients, the tempered functions (tempered softmax as a
 * torch.autograd.Function whose backward is the bi-tempered paper's formula).
 */
import { EPS } from '../builtins';
import { besselHelpers } from './bessel';
import { arg, HELPER_CALL_TEMPLATES, MINUS_LN2, OPERATOR_TEMPLATES, operand, pyNumber } from './common';
import { PREC, type Code, type Helper, type TargetSpec, type Template, type TemplateContext, type TemplateTable } from './types';

const E = pyNumber(EPS);

/** `torch.f(x)` with x converted to a tensor when it is a constant. */
const fn1 = (f: string): Template => (a, cx) => `${f}(${cx.tensor(a[0])})`;
/** Reductions over the class axis keep it, so per-sample scalars broadcast against vectors. */
const reduce = (f: string): Template => (a) => `${f}(${arg(a[0])}, dim=-1, keepdim=True)`;
/** Reductions over the pixel axis (task segmentation: [N, P, C]) keep it too. */
const reducePx = (f: string): Template => (a) => `${f}(${arg(a[0])}, dim=-2, keepdim=True)`;
/** Both operands as tensors (torch.maximum and torch.minimum take tensors only). */
const both = (a: Code[], cx: TemplateContext): [string, string] => [cx.tensor(a[0]), cx.tensor(a[1])];

export const PYTORCH_TEMPLATES: TemplateTable = {
  ...OPERATOR_TEMPLATES,
  log: fn1('torch.log'),
  exp: fn1('torch.exp'),
  sqrt: fn1('torch.sqrt'),
  abs: fn1('torch.abs'),
  sign: fn1('torch.sign'),
  step: (a, cx) => `${cx.use('_step')}(${cx.tensor(a[0])})`,
  square: fn1('torch.square'),
  log1p: fn1('torch.log1p'),
  expm1: fn1('torch.expm1'),
  sin: fn1('torch.sin'),
  cos: fn1('torch.cos'),
  tanh: fn1('torch.tanh'),
  sinh: fn1('torch.sinh'),
  cosh: fn1('torch.cosh'),
  asinh: fn1('torch.asinh'),
  atan: fn1('torch.atan'),
  sigmoid: fn1('torch.sigmoid'),
  softplus: fn1('F.softplus'),
  erf: fn1('torch.special.erf'),
  erfc: fn1('torch.special.erfc'),
  ln: (a, cx) => `torch.log(torch.abs(${cx.tensor(a[0])}) + ${E})`,
  log10: (a, cx) => `torch.log10(torch.abs(${cx.tensor(a[0])}) + ${E})`,
  reciprocal: (a) => ({ code: `1 / (${arg(a[0])} + ${E})`, prec: PREC.mul }),
  inv1p_abs: (a, cx) => ({ code: `1 / (1 + torch.abs(${cx.tensor(a[0])}))`, prec: PREC.mul }),
  softsign: fn1('F.softsign'),
  sqrt_abs: (a, cx) => `torch.sqrt(torch.abs(${cx.tensor(a[0])}))`,
  dtanh: (a, cx) => ({ code: `1 - torch.tanh(${cx.tensor(a[0])}) ** 2`, prec: PREC.add }),
  dsigmoid: (a, cx) => `${cx.use('_dsigmoid')}(${cx.tensor(a[0])})`,
  pdiv: (a) => ({ code: `${operand(a[0], PREC.mul)} / (${arg(a[1])} + ${E})`, prec: PREC.mul }),
  aq: (a, cx) => ({ code: `${operand(a[0], PREC.mul)} / torch.sqrt(1 + ${cx.tensor(a[1], PREC.pow + 1)} ** 2)`, prec: PREC.mul }),
  max2: (a, cx) => `torch.maximum(${both(a, cx).join(', ')})`,
  min2: (a, cx) => `torch.minimum(${both(a, cx).join(', ')})`,
  clamp: (a, cx) => {
    // Number bounds as numbers (the common `clamp(p, 1e-3, 1)`); tensor bounds all as tensors.
    const bounds = a[1].kind === 'const' && a[2].kind === 'const' ? [arg(a[1]), arg(a[2])] : [cx.tensor(a[1]), cx.tensor(a[2])];
    return `torch.clamp(${cx.tensor(a[0])}, ${bounds.join(', ')})`;
  },
  i0: fn1('torch.special.i0'),
  i1: fn1('torch.special.i1'),
  i0e: fn1('torch.special.i0e'),
  i1e: fn1('torch.special.i1e'),
  ...HELPER_CALL_TEMPLATES,
  sum: reduce('torch.sum'),
  mean: reduce('torch.mean'),
  max: reduce('torch.amax'),
  min: reduce('torch.amin'),
  logsumexp: reduce('torch.logsumexp'),
  softmax: (a) => `F.softmax(${arg(a[0])}, dim=-1)`,
  log_softmax: (a) => `F.log_softmax(${arg(a[0])}, dim=-1)`,
  stop_gradient: (a, cx) => `${cx.tensor(a[0], PREC.atom)}.detach()`,
  sum_px: reducePx('torch.sum'),
  mean_px: reducePx('torch.mean'),
};

const TEMPERED: Record<string, Helper> = {
  log_t: {
    code: `def log_t(x, t):
    """Tempered logarithm (x^(1-t) - 1) / (1 - t); log(x) at t = 1 (Amid et al., NeurIPS 2019).
    Computed as expm1((1-t) log x) / (1-t), accurate as t -> 1."""
    if t == 1:
        return torch.log(x)
    return torch.expm1((1 - t) * torch.log(x)) / (1 - t)
`,
  },
  exp_t: {
    code: `def exp_t(x, t):
    """Tempered exponential [1 + (1-t) x]_+^(1/(1-t)); exp(x) at t = 1 (Amid et al., NeurIPS 2019).
    The positive part is taken before the power (relu, then pow), as in the paper's code: 0 below
    the support for t < 1, +inf past the pole for t > 1."""
    if t == 1:
        return torch.exp(x)
    return torch.relu(1 + (1 - t) * x) ** (1 / (1 - t))
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
    tol = max(1e-15, 4 * torch.finfo(a.dtype).eps)
    if t > 1:
        total = torch.sum(exp_t(a, t), dim=-1, keepdim=True)
        for _ in range(500):
            new = torch.sum(exp_t(a * total ** (1 - t), t), dim=-1, keepdim=True)
            done = bool(torch.all(torch.abs(new - total) <= tol * new))
            total = new
            if done:
                break
        rel = -log_t(1 / total, t)
        rel = torch.where((rel >= 0) & (rel <= width), rel, torch.full_like(rel, width / 2))
    else:
        lo = torch.zeros_like(a[..., :1])
        hi = torch.full_like(lo, width)
        for _ in range(2000):
            mid = lo + (hi - lo) / 2
            if not bool(torch.any((mid > lo) & (mid < hi))):
                break
            above = torch.sum(exp_t(a - mid, t), dim=-1, keepdim=True) > 1
            lo = torch.where(above, mid, lo)
            hi = torch.where(above, hi, mid)
        rel = lo + (hi - lo) / 2
    if t > 0:
        for _ in range(10):
            e = exp_t(a - rel, t)
            f = torch.sum(e, dim=-1, keepdim=True) - 1
            df = torch.sum(e ** t, dim=-1, keepdim=True)
            nxt = torch.clamp(rel + f / df, 0, width)
            better = torch.abs(torch.sum(exp_t(a - nxt, t), dim=-1, keepdim=True) - 1) < torch.abs(f)
            if not bool(torch.any(better)):
                break
            rel = torch.where(better, nxt, rel)
    return rel
`,
  },
  _TemperedSoftmax: {
    deps: ['_tempered_normalization', 'exp_t'],
    code: `class _TemperedSoftmax(torch.autograd.Function):
    """Tempered softmax with the bi-tempered paper's gradient: for w = p^t,
    dL/dz = w * (dL/dp - sum(w * dL/dp) / sum(w))."""

    @staticmethod
    def forward(ctx, z, t):
        with torch.no_grad():
            a = z - torch.amax(z, dim=-1, keepdim=True)
            p = exp_t(a - _tempered_normalization(a, t), t)
        ctx.save_for_backward(p)
        ctx.t = t
        return p

    @staticmethod
    def backward(ctx, grad):
        (p,) = ctx.saved_tensors
        w = p ** ctx.t
        return w * (grad - torch.sum(w * grad, dim=-1, keepdim=True) / torch.sum(w, dim=-1, keepdim=True)), None
`,
  },
  tempered_softmax: {
    deps: ['_TemperedSoftmax'],
    code: `def tempered_softmax(z, t):
    """Tempered softmax over the last axis: exp_t(z - lambda(z), t) with lambda such that it sums to 1
    (Amid et al., NeurIPS 2019); softmax at t = 1, heavy-tailed for t > 1, exact zeros for t < 1.
    The temperature t is a number (no gradient with respect to it)."""
    t = float(t)
    if t == 1:
        return F.softmax(z, dim=-1)
    return _TemperedSoftmax.apply(z, t)
`,
  },
};

export const PYTORCH_HELPERS: Record<string, Helper> = {
  log1m_softmax: {
    code: `def log1m_softmax(z):
    """log(1 - softmax(z)) over the last axis, finite where softmax(z) rounds to 1: log1p(-p) where
    p <= 1/2; at the largest logit (the only class that can be above 1/2), lo - softplus(lo) with
    lo = logsumexp of the other logits minus the largest, the log of their total relative to it."""
    log_p = F.log_softmax(z, dim=-1)
    low = torch.log1p(-torch.exp(torch.clamp(log_p, max=${MINUS_LN2})))
    top = F.one_hot(torch.argmax(z, dim=-1), z.shape[-1]).bool()
    s = z - torch.amax(z, dim=-1, keepdim=True)
    lo = torch.logsumexp(torch.where(top, torch.full_like(s, -float('inf')), s), dim=-1, keepdim=True)
    return torch.where(log_p <= ${MINUS_LN2}, low, lo - F.softplus(lo))
`,
  },
  _step: {
    code: `def _step(x):
    """Heaviside step: 1 where x >= 0, else 0 (zero gradient)."""
    return (x >= 0).to(x.dtype)
`,
  },
  _dsigmoid: {
    code: `def _dsigmoid(x):
    """sigmoid(x) (1 - sigmoid(x))."""
    s = torch.sigmoid(x)
    return s * (1 - s)
`,
  },
  ...besselHelpers({
    where: 'torch.where',
    abs: 'torch.abs',
    onesLike: 'torch.ones_like',
    zerosLike: 'torch.zeros_like',
    cos: 'torch.cos',
    sin: 'torch.sin',
    sqrt: 'torch.sqrt',
    exp: 'torch.exp',
    sign: 'torch.sign',
    i1: 'torch.special.i1',
    i1e: 'torch.special.i1e',
  }),
  ...TEMPERED,
};

export const PYTORCH: TargetSpec = {
  target: 'pytorch',
  label: 'PyTorch',
  imports: ['import torch', 'import torch.nn.functional as F'],
  table: PYTORCH_TEMPLATES,
  helpers: PYTORCH_HELPERS,
  tensor: (c, ref) => `torch.as_tensor(${c}, dtype=${ref}.dtype, device=${ref}.device)`,
  column: (n) => `${n}[..., None]`,
  prologue: [],
  targetLines: () => [
    'if torch.is_floating_point(target):',
    '    y = target.to(logits.dtype)  # a distribution over classes: one-hot or soft',
    'else:',
    '    y = F.one_hot(target.long(), logits.shape[-1]).to(logits.dtype)  # class indices',
  ],
  classes: 'logits.shape[-1]',
  softmax: (z) => `F.softmax(${z}, dim=-1)`,
  logSoftmax: (z) => `F.log_softmax(${z}, dim=-1)`,
  finish: (e, ref) => {
    if (e.kind === 'const') return `torch.as_tensor(${e.code}, dtype=${ref}.dtype, device=${ref}.device).expand(${ref}.shape[:-1])`;
    return `${operand(e, PREC.atom)}.squeeze(-1)`;
  },
  reserved: ['torch', 'F', 'logits', 'target', 'y', 'p', 'C', 'log_p'],
  usage: (fn) => [
    `loss = ${fn}(logits, target).mean()  # logits [N, C]; target: class indices [N] or probabilities [N, C]`,
  ],
  image: {
    layout: '[N, C, H, W]',
    indexLayout: '[N, H, W]',
    flatten: (n) => `${n}.flatten(2).transpose(1, 2)  # [N, C, H, W] -> [N, P, C], P = H * W pixels`,
    targetLines: () => [
      'if torch.is_floating_point(target):',
      '    y = target.to(logits.dtype).flatten(2).transpose(1, 2)  # per-pixel distributions [N, C, H, W]',
      'else:',
      '    y = F.one_hot(target.long().flatten(1), logits.shape[-1]).to(logits.dtype)  # class indices [N, H, W]',
    ],
    pixels: 'logits.shape[-2]',
    finish: (e, ref) => {
      if (e.kind === 'const') return `torch.as_tensor(${e.code}, dtype=${ref}.dtype, device=${ref}.device).expand(${ref}.shape[:1])`;
      return `${operand(e, PREC.atom)}.reshape(-1)`;
    },
    usage: (fn) => [`loss = ${fn}(logits, target).mean()  # logits [N, C, H, W]; target: class indices [N, H, W] or probabilities [N, C, H, W]`],
  },
};
