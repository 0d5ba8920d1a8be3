"""One GAN training (protocol/torch-task.ts TorchGanTask): the tfjs engine's engines/tfjs/gan
(nets.ts, train-gan.ts) in PyTorch.

`run_gan_task(task, emit)` validates the task, loads the two exported losses (NAME_g, NAME_d)
and the digits (the classification LMDS file the Node side writes), builds the networks, emits
`info`, trains, emits one `gan-epoch` per finished epoch (with 50 generated digits per class
from fixed codes) and finally `result` (with `samplesPerClass` digits per class); every metric
(FD, accuracy on generated digits) is computed from those digits on the Node side with the
cached digit classifier (engines/tfjs/gan/train-gan.ts ganMetricsOf: one implementation).

The networks (nets.ts), a class-conditional DCGAN for 28x28 grey digits, F = filters:
- G: [z, one-hot label] -> linear (no bias) to 7x7x2F -> batch norm -> ReLU -> transposed conv
  4x4/2 (no bias) to 14x14xF -> batch norm -> ReLU -> transposed conv 4x4/2 (bias) to 28x28x1
  -> sigmoid. Batch norm always on the batch's statistics (as the tfjs engine, which trains and
  generates in training mode), eps 1e-3; the generated digits of the metrics go through G in
  batches of 100, as generateDigits does.
- D: conv 4x4/2 to 14x14xF -> leaky -> conv 4x4/2 to 7x7x2F -> leaky -> flatten phi -> w.phi +
  b + e_y.phi (projection head). leaky(x) = 0.6x + 0.4|x| (slope 0.2), no batch norm.
- Glorot uniform with nets.ts's fans, zero biases, BN gamma 1 beta 0, from two generators seeded
  rng.torch_seed(seed, 'init', 'gan-generator' | 'gan-discriminator').

The loop (train-gan.ts), per step on a batch (x, y) of a stream reshuffled every pass
(train.BatchStream, seeded 'order') with z ~ N(0, I) ('gan-noise'):
  1. D step: fake = G(z, y) detached; Adam on mean(NAME_d(d_real, d_fake[, grad_norm])) over D's
     weights; then, with clip, every D weight clipped to [-clip, clip].
  2. G step: fake = G(z, y) again; Adam on mean(NAME_g(...)) over G's weights.
grad_norm = ||grad_x^ D(x^, y)|| at x^ = e x + (1 - e) fake, e ~ U(0, 1) per sample
('gan-interpolate'), with create_graph=True, computed only when the loss reads it. Adam (lr,
betas, epsilon 1e-7 as tfjs). A non-finite loss or gradient ends the training as 'nan' without
applying the step ('discriminator loss is not finite at step 3', train-gan.ts's words);
SIGINT (KeyboardInterrupt) ends it as 'cancelled'.

The GAN trains in fp32 whatever the precision asked (the networks are tiny and the gradient
penalty is a second derivative). On the CPU with a fixed thread count a task run twice gives
identical numbers.
"""
import base64
import inspect
import math
import os
import time
import traceback
import zlib
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import env
from .data import read_lmds, tensor_bytes, to_float
from .errors import RunnerError, classify, first_line
from .losses import check_output, load_module
from .rng import torch_seed
from .task import GanTask, LossSpec, parse_gan_task
from .train import _DEFAULT_THREADS, BatchStream, _finite, _json_num

CLASSES = 10
SIDE = 28
QUICK_PER_CLASS = 50
IMAGE_ENCODING = 'uint8-zlib-base64'
GAN_INPUTS = ('d_real', 'd_fake', 'grad_norm')


# ---------------------------------------------------------------- the networks

def leaky(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU with slope 0.2 written as nets.ts writes it: 0.6x + 0.4|x|."""
    return 0.6 * x + 0.4 * x.abs()


class BatchStatsNorm(nn.Module):
    """Batch norm on the batch's statistics (gamma, beta; eps 1e-3 as layers.ts batchNorm)."""

    def __init__(self, c: int, eps: float = 1e-3):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


class Generator(nn.Module):
    def __init__(self, z_dim: int, filters: int):
        super().__init__()
        f, f2 = filters, 2 * filters
        self.f2 = f2
        self.dense = nn.Linear(z_dim + CLASSES, 7 * 7 * f2, bias=False)
        self.bn0 = BatchStatsNorm(f2)
        self.up1 = nn.ConvTranspose2d(f2, f, 4, stride=2, padding=1, bias=False)
        self.bn1 = BatchStatsNorm(f)
        self.up2 = nn.ConvTranspose2d(f, 1, 4, stride=2, padding=1, bias=True)

    def forward(self, z: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        n = z.shape[0]
        h = self.dense(torch.cat([z, onehot], 1)).view(n, self.f2, 7, 7)
        h = F.relu(self.bn0(h))
        h = F.relu(self.bn1(self.up1(h)))
        return torch.sigmoid(self.up2(h))


class Discriminator(nn.Module):
    def __init__(self, filters: int):
        super().__init__()
        f, f2 = filters, 2 * filters
        self.phi = 7 * 7 * f2
        self.conv1 = nn.Conv2d(1, f, 4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(f, f2, 4, stride=2, padding=1)
        self.out = nn.Linear(self.phi, 1)
        self.embed = nn.Parameter(torch.zeros(CLASSES, self.phi))

    def forward(self, x: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        h = leaky(self.conv1(x))
        h = leaky(self.conv2(h))
        f = h.reshape(n, self.phi)
        proj = (f * (onehot @ self.embed)).sum(1)
        return self.out(f).squeeze(1) + proj


def _glorot(shape, fan_in: int, fan_out: int, g: torch.Generator) -> torch.Tensor:
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.empty(shape).uniform_(-limit, limit, generator=g)


def init_gan(gen: Generator, disc: Discriminator, z_dim: int, filters: int, seed: int) -> None:
    """Glorot uniform with nets.ts's fans, zero biases; G and D from their own generators."""
    f, f2 = filters, 2 * filters
    gg = torch.Generator()
    gg.manual_seed(torch_seed(seed, 'init', 'gan-generator'))
    gd = torch.Generator()
    gd.manual_seed(torch_seed(seed, 'init', 'gan-discriminator'))
    with torch.no_grad():
        # Linear weights are [out, in]; transposed conv weights [in, out, k, k]; conv [out, in, k, k].
        gen.dense.weight.copy_(_glorot((7 * 7 * f2, z_dim + CLASSES), z_dim + CLASSES, 7 * 7 * f2, gg))
        gen.up1.weight.copy_(_glorot((f2, f, 4, 4), 16 * f2, 16 * f, gg))
        gen.up2.weight.copy_(_glorot((f, 1, 4, 4), 16 * f, 16, gg))
        gen.up2.bias.zero_()
        disc.conv1.weight.copy_(_glorot((f, 1, 4, 4), 16, 16 * f, gd))
        disc.conv1.bias.zero_()
        disc.conv2.weight.copy_(_glorot((f2, f, 4, 4), 16 * f, 16 * f2, gd))
        disc.conv2.bias.zero_()
        disc.out.weight.copy_(_glorot((1, disc.phi), disc.phi, 1, gd))
        disc.out.bias.zero_()
        disc.embed.copy_(_glorot((CLASSES, disc.phi), CLASSES, disc.phi, gd))


def build_gan(z_dim: int, filters: int, seed: int) -> Tuple[Generator, Discriminator]:
    gen, disc = Generator(z_dim, filters), Discriminator(filters)
    init_gan(gen, disc, z_dim, filters, seed)
    return gen, disc


# ---------------------------------------------------------------- the losses

class GanLoss:
    """An exported GAN loss: fn(d_real, d_fake[, grad_norm], *, params) -> [N]; what it reads
    from its signature."""

    def __init__(self, spec: LossSpec, what: str):
        self.what = what
        self.name = spec.fn
        mod = load_module(spec.module, what)
        fn = getattr(mod, spec.fn, None)
        if fn is None or not callable(fn):
            raise RunnerError('loss', '%s.fn: the module defines no function %r; pass the exported function\'s name' % (what, spec.fn))
        self.fn = fn
        self.params = dict(spec.params or {})
        try:
            sig = inspect.signature(fn)
            positional = [p.name for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            positional = ['d_real', 'd_fake']
        if not positional or any(p not in GAN_INPUTS for p in positional):
            raise RunnerError('loss', '%s: %s(%s) is not a GAN loss (expected fn(d_real, d_fake[, grad_norm], *, params)); '
                              'export a `task gan` loss with `lossmith export FILE --to pytorch`' % (what, spec.fn, ', '.join(positional)))
        self.reads = tuple(positional)
        probe = {k: torch.tensor([0.5, -1.0]) for k in self.reads}
        try:
            out = self.fn(**probe, **self.params)
        except Exception as e:
            raise RunnerError('loss', '%s: %s(%s) raised %s: %s; check the exported module and %s.params'
                              % (what, spec.fn, ', '.join(self.reads), type(e).__name__, first_line(e), what), traceback.format_exc())
        check_output(out, 2, spec.fn, what)

    def __call__(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        try:
            out = self.fn(**{k: inputs[k] for k in self.reads}, **self.params)
        except Exception as e:
            raise RunnerError('loss', '%s: %s raised %s: %s' % (self.what, self.name, type(e).__name__, first_line(e)), traceback.format_exc())
        return out


# ---------------------------------------------------------------- images

def encode_images(x: torch.Tensor) -> dict:
    """TorchGanImagesJson of images in [0, 1] [n, 1, 28, 28]: round(255 x) as uint8, zlib, base64."""
    n = int(x.shape[0])
    u8 = (x.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8).contiguous()
    raw = tensor_bytes(u8)
    return {'n': n, 'height': SIDE, 'width': SIDE, 'encoding': IMAGE_ENCODING,
            'data': base64.b64encode(zlib.compress(raw, 1)).decode('ascii')}


# ---------------------------------------------------------------- data

_data_cache: Dict[tuple, Any] = {}


def load_gan_data(path: str, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    """The training digits (as stored, [n, 1, 28, 28]) and labels on the device, kept for the next task."""
    try:
        st = os.stat(path)
        key = (os.path.abspath(path), st.st_mtime_ns, st.st_size, str(device))
    except OSError:
        key = None
    if key is not None and key in _data_cache:
        return _data_cache[key]
    ds = read_lmds(path)
    if tuple(ds.shape) != (SIDE, SIDE, 1) or ds.classes != CLASSES:
        raise RunnerError('dataset', '%s: GAN runs train on 28x28 grey digits in 10 classes; %s is %s in %d classes'
                          % (path, ds.name, 'x'.join(str(v) for v in ds.shape), ds.classes))
    if ds.train.n == 0:
        raise RunnerError('dataset', 'the training split of %s is empty' % path)
    out = (ds.train.x.to(device), ds.train.y.to(device))
    _data_cache.clear()
    if key is not None:
        _data_cache[key] = out
    return out


# ---------------------------------------------------------------- the training

class GanTrainer:
    def __init__(self, task: GanTask, emit: Callable[[dict], None]):
        self.task = task
        self.emit = emit
        self.device = env.resolve_device(torch, task.device)
        torch.set_num_threads(task.threads or _DEFAULT_THREADS)
        if self.device.type == 'cuda':
            torch.backends.cudnn.benchmark = True
        self.d_loss = GanLoss(task.dLoss, 'task.dLoss')
        self.g_loss = GanLoss(task.gLoss, 'task.gLoss')
        self.x, self.y = load_gan_data(task.data.path, self.device)
        t = task.train
        self.gen, self.disc = build_gan(t.zDim, t.filters, t.seed)
        self.gen.to(self.device)
        self.disc.to(self.device)
        self.g_params = list(self.gen.parameters())
        self.d_params = list(self.disc.parameters())
        betas = (t.beta1, t.beta2)
        self.opt_d = torch.optim.Adam(self.d_params, lr=t.lr, betas=betas, eps=1e-7)
        self.opt_g = torch.optim.Adam(self.g_params, lr=t.lr, betas=betas, eps=1e-7)
        self.n = int(self.x.shape[0])
        self.bs = min(t.batchSize, self.n)
        self.stream = BatchStream(self.n, torch_seed(t.seed, 'order'))
        self.noise = torch.Generator()
        self.noise.manual_seed(torch_seed(t.seed, 'gan-noise'))
        self.interp = torch.Generator()
        self.interp.manual_seed(torch_seed(t.seed, 'gan-interpolate'))
        self.need_gp = 'grad_norm' in self.d_loss.reads or 'grad_norm' in self.g_loss.reads

    def info(self) -> dict:
        return env.info_record(torch, self.device, 'fp32', False, False)

    def onehot(self, y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y, CLASSES).float()

    def grad_norm(self, real, fake, eps, oh) -> torch.Tensor:
        x_hat = eps * real + (1 - eps) * fake
        if not x_hat.requires_grad:
            x_hat.requires_grad_(True)
        g, = torch.autograd.grad(self.disc(x_hat, oh).sum(), x_hat, create_graph=True)
        return torch.sqrt(g.pow(2).sum((1, 2, 3)) + 1e-12)

    def inputs(self, loss: GanLoss, real, fake, oh, eps) -> Dict[str, torch.Tensor]:
        out = {'d_fake': self.disc(fake, oh)}
        if 'd_real' in loss.reads:
            out['d_real'] = self.disc(real, oh)
        if 'grad_norm' in loss.reads:
            out['grad_norm'] = self.grad_norm(real, fake, eps, oh)
        return out

    def _objective(self, loss: GanLoss, inputs) -> torch.Tensor:
        out = loss(inputs)
        check_output(out, self.bs, loss.name, loss.what)
        return out.float().mean()

    @staticmethod
    def _grads_and_check(obj: torch.Tensor, params: List[torch.Tensor]) -> Tuple[List[torch.Tensor], float, float]:
        grads = torch.autograd.grad(obj, params, allow_unused=True)
        grads = [g if g is not None else torch.zeros_like(p) for g, p in zip(grads, params)]
        gsq = torch.stack([g.float().pow(2).sum() for g in grads]).sum()
        v, s = torch.stack([obj.detach().float(), gsq]).tolist()
        return grads, v, s

    @staticmethod
    def _apply(opt: torch.optim.Optimizer, params, grads) -> None:
        for p, g in zip(params, grads):
            p.grad = g.detach()
        opt.step()
        for p in params:
            p.grad = None

    def step(self, idx: torch.Tensor) -> Tuple[float, float, str]:
        t = self.task.train
        di = idx.to(self.device) if self.device.type != 'cpu' else idx
        real = to_float(self.x.index_select(0, di))
        oh = self.onehot(self.y.index_select(0, di))
        z = torch.randn(self.bs, t.zDim, generator=self.noise).to(self.device)
        eps = torch.rand(self.bs, generator=self.interp).view(self.bs, 1, 1, 1).to(self.device) if self.need_gp else None
        # D step: the generated batch held fixed.
        with torch.no_grad():
            fake = self.gen(z, oh)
        d_obj = self._objective(self.d_loss, self.inputs(self.d_loss, real, fake, oh, eps))
        grads, d_v, d_s = self._grads_and_check(d_obj, self.d_params)
        if not _finite(d_v) or not _finite(d_s):
            return d_v, float('nan'), 'discriminator loss' if not _finite(d_v) else "discriminator's gradient"
        self._apply(self.opt_d, self.d_params, grads)
        if t.clip is not None:
            with torch.no_grad():
                for p in self.d_params:
                    p.clamp_(-t.clip, t.clip)
        # G step.
        g_obj = self._objective(self.g_loss, self.inputs(self.g_loss, real, self.gen(z, oh), oh, eps))
        grads, g_v, g_s = self._grads_and_check(g_obj, self.g_params)
        if not _finite(g_v) or not _finite(g_s):
            return d_v, g_v, 'generator loss' if not _finite(g_v) else "generator's gradient"
        self._apply(self.opt_g, self.g_params, grads)
        return d_v, g_v, ''

    def generate(self, per_class: int) -> dict:
        """per_class digits of each class (labels i % 10) from the seed's fixed codes, in batches of 100."""
        t = self.task.train
        n = per_class * CLASSES
        g = torch.Generator()
        g.manual_seed(torch_seed(t.seed, 'gan-eval-z'))
        z = torch.randn(n, t.zDim, generator=g).to(self.device)
        labels = (torch.arange(n) % CLASSES).to(self.device)
        out = []
        with torch.no_grad():
            for s in range(0, n, 100):
                m = min(100, n - s)
                out.append(self.gen(z[s:s + m], self.onehot(labels[s:s + m])).cpu())
        x = torch.cat(out) if out else torch.zeros(0, 1, SIDE, SIDE)
        return encode_images(x)

    def d_max_abs_weight(self) -> float:
        with torch.no_grad():
            return float(max(float(p.abs().max()) for p in self.d_params))

    def run(self) -> dict:
        task, t = self.task, self.task.train
        t0 = time.perf_counter()
        step_every = task.stepEvery or 0
        total = t.epochs * t.stepsPerEpoch
        status, reason = 'completed', None
        step = 0
        try:
            for epoch in range(1, t.epochs + 1):
                te = time.perf_counter()
                d_sum = g_sum = 0.0
                for _ in range(t.stepsPerEpoch):
                    d_v, g_v, what = self.step(self.stream.next(self.bs))
                    if what:
                        status, reason = 'nan', '%s is not finite at step %d' % (what, step)
                        break
                    d_sum += d_v
                    g_sum += g_v
                    step += 1
                    if step_every and step % step_every == 0:
                        self.emit({'type': 'step', 'step': step - 1, 'epoch': epoch, 'trainLoss': d_v, 'lr': t.lr, 'steps': total})
                if status == 'nan':
                    break
                samples = self.generate(QUICK_PER_CLASS)
                rec = {'epoch': epoch, 'dLoss': _json_num(d_sum / t.stepsPerEpoch), 'gLoss': _json_num(g_sum / t.stepsPerEpoch),
                       'ms': (time.perf_counter() - te) * 1000}
                self.emit({'type': 'gan-epoch', 'epoch': rec, 'samples': samples})
        except KeyboardInterrupt:
            status, reason = 'cancelled', 'cancelled'
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
        samples = self.generate(t.samplesPerClass) if status == 'completed' else None
        result = {'status': status, 'steps': step, 'wallMs': (time.perf_counter() - t0) * 1000,
                  'dMaxAbsWeight': self.d_max_abs_weight(), 'samples': samples}
        if reason:
            result['reason'] = reason
        return result


def run_gan_task(task_obj, emit: Callable[[dict], None]) -> dict:
    """Runs one GAN task (a dict as decoded from JSON, or a GanTask) and emits its messages;
    returns the result, raises RunnerError (already classified) on failure."""
    ctx: Dict[str, Any] = {}
    try:
        env.import_torch()
        task = task_obj if isinstance(task_obj, GanTask) else parse_gan_task(task_obj)
        ctx['batchSize'] = task.train.batchSize
        trainer = GanTrainer(task, emit)
        ctx['device'] = '%s (%s)' % (trainer.device, env.device_name(torch, trainer.device))
        emit({'type': 'info', 'info': trainer.info()})
        result = trainer.run()
        emit({'type': 'result', 'result': result})
        return result
    except Exception as e:
        raise classify(e, ctx) from e
