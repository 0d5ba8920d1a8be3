"""Batched augmentations on the device, with the meaning of engine/src/augment/*.ts.

Grammar (parse.ts): none | flipcrop[:pad] | cutout[:size] | mixup[:alpha] | cutmix[:alpha[:prob]]
| randaugment[:N[:M]], '+' chains them left to right. Defaults: flipcrop pad 4; cutout half
the shorter image side; mixup alpha 1; cutmix alpha 1, prob 1; randaugment N 2, M 9 (M/10 of
each operation's maximum).

Design: random parameters are drawn on the CPU from one `torch.Generator` (seeded from the task
seed and the purpose 'augment'), whole-batch vectors at a time, then applied as tensor ops on
the device to the batch (float NCHW in [0, 1], targets [N, K] that sum to 1). Nothing waits
for the device. The draws differ from the tfjs engine's (another generator, another order),
the operations do not:

- flipcrop: flip with probability 1/2, then a crop of the image zero-padded by `pad`.
- cutout: one size x size square centred on a uniformly random pixel is zeroed (clipped).
- mixup: one lambda ~ Beta(alpha, alpha) per batch, partner = a random permutation.
- cutmix: with probability prob, one lambda, one box (the reference rand_bbox) and one
  permutation per batch; targets weighted by the area actually pasted.
- randaugment: per image N ops drawn uniformly from the 13 of randaugment.ts, each at strength
  M/10 with a random sign for the signed ones. Round k applies every image's k-th op: the
  geometric ops (rotate, shear, translate) as one batched bilinear warp with zero fill about
  the image centre (near-integer sample positions snapped, so whole-pixel moves are exact),
  the colour ops (PIL ImageEnhance / ImageOps formulas of image.ts) on the subset of images
  that drew them.
"""
import math
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F

from .rng import js_round, torch_seed

AUGMENT_NAMES = ('none', 'flipcrop', 'cutout', 'mixup', 'cutmix', 'randaugment')
_MAX_ARGS = {'none': 0, 'flipcrop': 1, 'cutout': 1, 'mixup': 1, 'cutmix': 2, 'randaugment': 2}

RANDAUGMENT_OPS = ('identity', 'rotate', 'shearX', 'shearY', 'translateX', 'translateY', 'brightness',
                   'contrast', 'sharpness', 'solarize', 'posterize', 'autocontrast', 'equalize')
_GEOMETRIC = (1, 2, 3, 4, 5)


def _num(part: str, what: str, s: Optional[str], default: float, integer: bool) -> float:
    if s is None or s == '':
        return default
    try:
        v = float(s)
    except ValueError:
        v = float('nan')
    if not math.isfinite(v) or (integer and v != int(v)):
        raise ValueError("augmentation '%s': %s must be %s, got '%s'" % (part, what, 'an integer' if integer else 'a number', s))
    return int(v) if integer else v


def _fmt(v: float) -> str:
    """A number as JavaScript's String(v) writes it (1, 0.5), for canonical names."""
    if float(v) == int(v) and abs(v) < 1e21:
        return str(int(v))
    return repr(float(v))


def _parse_one(part: str, whole: str) -> Tuple[str, tuple]:
    pieces = [s.strip() for s in part.split(':')]
    raw, args = pieces[0], pieces[1:]
    name = raw.lower()
    if name not in _MAX_ARGS:
        raise ValueError("unknown augmentation '%s' in '%s' (known: %s)" % (raw, whole, ', '.join(AUGMENT_NAMES)))
    if len(args) > _MAX_ARGS[name]:
        n = _MAX_ARGS[name]
        raise ValueError("augmentation '%s': %s takes at most %d parameter%s" % (part, name, n, '' if n == 1 else 's'))
    a0 = args[0] if args else None
    a1 = args[1] if len(args) > 1 else None
    if name == 'none':
        return 'none', ()
    if name == 'flipcrop':
        pad = _num(part, 'padding', a0, 4, True)
        if pad < 0:
            raise ValueError('flipcrop: padding must be an integer >= 0, got %s' % _fmt(pad))
        return 'flipcrop:%d' % pad, ('flipcrop', pad)
    if name == 'cutout':
        if a0 is None or a0 == '':
            return 'cutout', ('cutout', None)
        size = _num(part, 'size', a0, 0, True)
        if size < 1:
            raise ValueError('cutout: size must be a positive integer, got %s' % _fmt(size))
        return 'cutout:%d' % size, ('cutout', size)
    if name == 'mixup':
        alpha = _num(part, 'alpha', a0, 1, False)
        if not alpha > 0:
            raise ValueError('mixup: alpha must be a finite number > 0, got %s' % _fmt(alpha))
        return 'mixup:%s' % _fmt(alpha), ('mixup', alpha)
    if name == 'cutmix':
        alpha = _num(part, 'alpha', a0, 1, False)
        prob = _num(part, 'probability', a1, 1, False)
        if not alpha > 0:
            raise ValueError('cutmix: alpha must be a finite number > 0, got %s' % _fmt(alpha))
        if not 0 <= prob <= 1:
            raise ValueError('cutmix: probability must be in [0, 1], got %s' % _fmt(prob))
        return 'cutmix:%s:%s' % (_fmt(alpha), _fmt(prob)), ('cutmix', alpha, prob)
    n = _num(part, 'N', a0, 2, True)
    m = _num(part, 'M', a1, 9, False)
    if n < 0:
        raise ValueError('randaugment: N (number of ops) must be an integer >= 0, got %s' % _fmt(n))
    if not 0 <= m <= 10:
        raise ValueError("randaugment: magnitude M must be in [0, 10] (M/10 of each op's maximum), got %s" % _fmt(m))
    return 'randaugment:%d:%s' % (n, _fmt(m)), ('randaugment', n, m)


def parse_augment(spec: str) -> Tuple[str, List[tuple]]:
    """(canonical name, ops) for a spec; raises ValueError with parse.ts's messages."""
    s = spec.strip()
    if s == '':
        return 'none', []
    parts = [p.strip() for p in s.split('+')]
    if any(p == '' for p in parts):
        raise ValueError("augmentation '%s': empty part around '+'" % spec)
    parsed = [_parse_one(p, spec) for p in parts]
    real = [p for p in parsed if p[0] != 'none']
    if not real:
        return 'none', []
    return '+'.join(p[0] for p in real), [p[1] for p in real]


class Draws:
    """Scalar and vector draws from one CPU torch.Generator (Beta via Marsaglia-Tsang as rng.ts)."""

    def __init__(self, seed: int):
        self.g = torch.Generator()
        self.g.manual_seed(seed)

    def uniform(self) -> float:
        return float(torch.rand(1, generator=self.g, dtype=torch.float64)[0])

    def rand(self, n: int) -> torch.Tensor:
        return torch.rand(n, generator=self.g, dtype=torch.float64)

    def randint(self, hi: int, n: int) -> torch.Tensor:
        return torch.randint(0, hi, (n,), generator=self.g)

    def randperm(self, n: int) -> torch.Tensor:
        return torch.randperm(n, generator=self.g)

    def normal(self) -> float:
        u = 0.0
        while u == 0.0:
            u = self.uniform()
        v = self.uniform()
        return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * v)

    def gamma(self, shape: float) -> float:
        if shape < 1:
            return self.gamma(shape + 1) * math.pow(self.uniform() or 1e-300, 1 / shape)
        d = shape - 1 / 3
        c = 1 / math.sqrt(9 * d)
        while True:
            while True:
                x = self.normal()
                v = 1 + c * x
                if v > 0:
                    break
            v = v * v * v
            u = self.uniform()
            if u < 1 - 0.0331 * x * x * x * x:
                return d * v
            if math.log(u) < 0.5 * x * x + d * (1 - v + math.log(v)):
                return d * v

    def beta(self, a: float, b: float) -> float:
        x = self.gamma(a)
        y = self.gamma(b)
        return x / (x + y)


# ---------------------------------------------------------------- image operations (batched)

def shift(x: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    """out[n, :, i, j] = x[n, :, i - dy[n], j - dx[n]], zero outside (dx, dy: CPU int tensors)."""
    n, c, h, w = x.shape
    if n == 0:
        return x
    p = int(max(int(dx.abs().max()), int(dy.abs().max())))
    if p == 0:
        return x
    xp = F.pad(x, (p, p, p, p))
    rows = (torch.arange(h)[None, :] + p - dy[:, None]).to(x.device, non_blocking=True)
    cols = (torch.arange(w)[None, :] + p - dx[:, None]).to(x.device, non_blocking=True)
    xr = xp.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * p))
    return xr.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def warp(x: torch.Tensor, a, b, d, e, tx, ty) -> torch.Tensor:
    """image.ts affine(): out(x, y) = in(sx, sy), (sx - cx, sy - cy) = M (x - cx, y - cy) - t, with
    M = [[a, b], [d, e]] per image (CPU float64 vectors), bilinear, zero outside."""
    n, c, h, w = x.shape
    dev = x.device
    params = torch.stack([a, b, d, e, tx, ty], 1).to(dev, torch.float32, non_blocking=True)
    pa, pb, pd, pe, ptx, pty = (params[:, i, None, None] for i in range(6))
    cx, cy = (w - 1) / 2, (h - 1) / 2
    xs = (torch.arange(w, device=dev, dtype=torch.float32) - cx)[None, None, :]
    ys = (torch.arange(h, device=dev, dtype=torch.float32) - cy)[None, :, None]
    sx = cx + pa * xs + pb * ys - ptx
    sy = cy + pd * xs + pe * ys - pty
    rx, ry = torch.round(sx), torch.round(sy)
    sx = torch.where((sx - rx).abs() < 1e-4, rx, sx)
    sy = torch.where((sy - ry).abs() < 1e-4, ry, sy)
    x0, y0 = torch.floor(sx), torch.floor(sy)
    fx, fy = sx - x0, sy - y0
    x0, y0 = x0.long(), y0.long()
    flat = x.reshape(n, c, h * w)
    out = torch.zeros_like(flat)
    for yy, xx, wt in ((y0, x0, (1 - fx) * (1 - fy)), (y0, x0 + 1, fx * (1 - fy)),
                       (y0 + 1, x0, (1 - fx) * fy), (y0 + 1, x0 + 1, fx * fy)):
        valid = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
        idx = (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).reshape(n, 1, h * w).expand(n, c, h * w)
        wv = (wt * valid).reshape(n, 1, h * w)
        out = out + flat.gather(2, idx) * wv
    return out.reshape(n, c, h, w)


def _to8(x: torch.Tensor) -> torch.Tensor:
    """8-bit level of each value: Math.round(clamp01(v) * 255)."""
    return torch.floor(x.clamp(0, 1) * 255 + 0.5)


def _blend(x: torch.Tensor, deg, f: torch.Tensor) -> torch.Tensor:
    return (deg + f * (x - deg)).clamp(0, 1)


def _luma_mean(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 3:
        l = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    else:
        l = x[:, 0]
    return l.mean((1, 2))


def sharpen(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """PIL SHARPNESS: blend with the smoothed image (interior 3x3 [[1,1,1],[1,5,1],[1,1,1]]/13)."""
    n, c, h, w = x.shape
    deg = x.clone()
    if h > 2 and w > 2:
        k = torch.ones(c, 1, 3, 3, device=x.device, dtype=x.dtype)  # built on the device: no host copy
        k[:, :, 1, 1] = 5
        deg[:, :, 1:-1, 1:-1] = F.conv2d(x, k / 13, groups=c)
    return _blend(x, deg, f)


def autocontrast(x: torch.Tensor) -> torch.Tensor:
    lo = x.amin((2, 3), keepdim=True)
    hi = x.amax((2, 3), keepdim=True)
    return torch.where(hi > lo, (x - lo) / (hi - lo), x)


def equalize(x: torch.Tensor) -> torch.Tensor:
    """PIL ImageOps.equalize per channel on 8-bit levels (image.ts equalize)."""
    n, c, h, w = x.shape
    hw = h * w
    lv = _to8(x).long().reshape(n * c, hw)
    hist = torch.zeros(n * c, 256, dtype=torch.long, device=x.device).scatter_add_(1, lv, torch.ones_like(lv))
    last = 255 - (hist.flip(1) > 0).float().argmax(1, keepdim=True)
    step = torch.div(hw - hist.gather(1, last), 255, rounding_mode='floor')
    acc = torch.cumsum(hist, 1) - hist + torch.div(step, 2, rounding_mode='floor')
    lut = torch.div(acc, step.clamp(min=1), rounding_mode='floor').clamp(max=255)
    out = lut.gather(1, lv).to(x.dtype) / 255
    return torch.where(step > 0, out, x.reshape(n * c, hw)).reshape(n, c, h, w)


def solarize(x: torch.Tensor, threshold: float) -> torch.Tensor:
    return torch.where(_to8(x) >= threshold, 1 - x, x)


def posterize(x: torch.Tensor, bits: int) -> torch.Tensor:
    b = max(0, min(8, int(bits)))
    mask = (0xFF << (8 - b)) & 0xFF
    return torch.bitwise_and(_to8(x).to(torch.int32), mask).to(x.dtype) / 255


# ---------------------------------------------------------------- the batch augmenter

class Augmenter:
    """Applies a parsed spec to (x [N,C,H,W] float in [0,1], y [N,K]) batches on their device."""

    def __init__(self, spec: str, seed: int):
        self.name, self.ops = parse_augment(spec)
        self.draws = Draws(torch_seed(seed, 'augment'))

    @property
    def identity(self) -> bool:
        return not self.ops

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        for op in self.ops:
            x, y = getattr(self, '_' + op[0])(x, y, *op[1:])
        return x, y

    # Each op takes and returns (x, y); x is never modified in place (the caller's batch may be
    # a view of the dataset).

    def _flipcrop(self, x, y, pad):
        n, _, h, w = x.shape
        g = self.draws
        flip = g.rand(n) < 0.5
        oy = g.randint(2 * pad + 1, n)
        ox = g.randint(2 * pad + 1, n)
        if bool(flip.any()):
            x = torch.where(flip.to(x.device, non_blocking=True)[:, None, None, None], x.flip(3), x)
        return shift(x, pad - ox, pad - oy), y

    def _cutout(self, x, y, size):
        n, _, h, w = x.shape
        s = size if size is not None else max(1, js_round(min(h, w) / 2))
        g = self.draws
        cy = g.randint(h, n)
        cx = g.randint(w, n)
        corner = torch.stack([cy - s // 2, cx - s // 2], 1).to(x.device, non_blocking=True)
        y0, x0 = corner[:, 0, None], corner[:, 1, None]
        ar_h = torch.arange(h, device=x.device)[None, :]
        ar_w = torch.arange(w, device=x.device)[None, :]
        rmask = (ar_h >= y0) & (ar_h < y0 + s)
        cmask = (ar_w >= x0) & (ar_w < x0 + s)
        hole = rmask[:, None, :, None] & cmask[:, None, None, :]
        return x.masked_fill(hole, 0.0), y

    def _mixup(self, x, y, alpha):
        n = x.shape[0]
        if n == 0:
            return x, y
        lam = self.draws.beta(alpha, alpha)
        perm = self.draws.randperm(n).to(x.device, non_blocking=True)
        return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]

    def _cutmix(self, x, y, alpha, prob):
        n, _, h, w = x.shape
        g = self.draws
        if n == 0 or not g.uniform() < prob:
            return x, y
        lam = g.beta(alpha, alpha)
        perm = g.randperm(n).to(x.device, non_blocking=True)
        cy = int(g.randint(h, 1)[0])
        cx = int(g.randint(w, 1)[0])
        x0, x1, y0, y1 = cutmix_box(h, w, lam, cx, cy)
        out = x.clone()
        if x1 > x0 and y1 > y0:
            out[:, :, y0:y1, x0:x1] = x[perm][:, :, y0:y1, x0:x1]
        lam_adj = 1 - ((x1 - x0) * (y1 - y0)) / (h * w)
        return out, lam_adj * y + (1 - lam_adj) * y[perm]

    def _randaugment(self, x, y, n_ops, magnitude):
        n, c, h, w = x.shape
        if n == 0 or n_ops == 0:
            return x, y
        m = magnitude / 10
        g = self.draws
        x = x.clone()
        for _ in range(n_ops):
            ops = g.randint(len(RANDAUGMENT_OPS), n)
            sign = torch.where(g.rand(n) < 0.5, -1.0, 1.0).double()
            present = set(int(v) for v in torch.unique(ops))
            geo = [k for k in _GEOMETRIC if k in present]
            if geo:
                sel = (ops >= 1) & (ops <= 5)
                idx = sel.nonzero().flatten()
                o, s = ops[idx], sign[idx]
                k = len(idx)
                one, zero = torch.ones(k, dtype=torch.float64), torch.zeros(k, dtype=torch.float64)
                t = torch.where(o == 1, s * 30 * m, zero) * math.pi / 180
                a = torch.where(o == 1, torch.cos(t), one)
                e = a.clone()
                b = torch.where(o == 1, -torch.sin(t), torch.where(o == 2, s * 0.3 * m, zero))
                d = torch.where(o == 1, torch.sin(t), torch.where(o == 3, s * 0.3 * m, zero))
                tx = torch.where(o == 4, s * js_round(0.45 * m * w), zero)
                ty = torch.where(o == 5, s * js_round(0.45 * m * h), zero)
                self._apply(x, idx, lambda v: warp(v, a, b, d, e, tx, ty))
            for k in present:
                if k in _GEOMETRIC or k == 0:
                    continue
                idx = (ops == k).nonzero().flatten()
                f = (1 + sign[idx] * 0.9 * m).to(x.device, x.dtype, non_blocking=True)[:, None, None, None]
                name = RANDAUGMENT_OPS[k]
                if name == 'brightness':
                    fn = lambda v, f=f: _blend(v, 0.0, f)
                elif name == 'contrast':
                    fn = lambda v, f=f: _blend(v, _luma_mean(v)[:, None, None, None], f)
                elif name == 'sharpness':
                    fn = lambda v, f=f: sharpen(v, f)
                elif name == 'solarize':
                    fn = lambda v: solarize(v, 256 * (1 - m))
                elif name == 'posterize':
                    fn = lambda v: posterize(v, 8 - js_round(4 * m))
                elif name == 'autocontrast':
                    fn = autocontrast
                else:
                    fn = equalize
                self._apply(x, idx, fn)
        return x, y

    @staticmethod
    def _apply(x: torch.Tensor, idx: torch.Tensor, fn) -> None:
        """x[idx] = fn(x[idx]) in place (idx: CPU indices)."""
        if idx.numel() == 0:
            return
        if idx.numel() == x.shape[0]:
            x.copy_(fn(x))
            return
        di = idx.to(x.device, non_blocking=True)
        x.index_copy_(0, di, fn(x.index_select(0, di)))


def cutmix_box(h: int, w: int, lam: float, cx: int, cy: int) -> Tuple[int, int, int, int]:
    """(x0, x1, y0, y1) as mix.ts cutmixBox (the reference rand_bbox)."""
    r = math.sqrt(1 - lam)
    cw = int(math.floor(w * r))
    ch = int(math.floor(h * r))

    def clip(v, hi):
        return min(max(v, 0), hi)
    return clip(cx - cw // 2, w), clip(cx + cw // 2, w), clip(cy - ch // 2, h), clip(cy + ch // 2, h)
