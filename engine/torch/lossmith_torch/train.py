"""One training task: one model, one loss, one seed (engine/src/train.ts, in PyTorch).

`run_task(task, emit)` validates the task, loads the data (through a cache in serve mode),
builds the model and the loss, emits `info`, trains, emits one `epoch` per finished epoch (and
`step` every `stepEvery` steps) and finally `result`; errors are raised as RunnerError for the
caller to print.

Semantics mirrored from train.ts:
- batches: a continuous stream over the training examples, reshuffled at every pass, cut into
  full batches of bs = min(batchSize, nTrain); an epoch is `stepsPerEpoch` steps (default
  ceil(nTrain / bs));
- learning rate: linear warm-up over round(warmup * total) steps, then cosine to 0 (or
  constant), set on the optimizer before every step;
- NaN: if the batch loss or the squared gradient norm is not finite, the step is not applied
  and training ends with status 'nan' ("loss is NaN at step 12", worded as train.ts does);
- epoch end: validation accuracy on the first maxVal validation examples; the best-validation
  weights (BN statistics included) are kept for testWith 'best'; early stop when the epoch's
  training accuracy is under minTrainAcc after afterEpochs epochs;
- SAM / ASAM: gradient at w, perturb (rho * g / ||g||, ASAM rho * w^2 g / || |w| g ||), the
  training loss's gradient at the perturbed weights with the same dropout masks and without
  updating BN statistics, restore, step. AACE: a separate perturbation loss, step w - rho g_p,
  unnormalised unless sam.normalize. Reported loss and accuracy come from the first pass.

Speed: the data sit on the device; a batch is an index_select, a float conversion and the
augmentation, all queued without waiting. The step's numbers (training loss, correct count,
squared gradient norm) are one stacked tensor. On CUDA, when the (fused) optimiser honours the
`found_inf` gate, a step that is not finite is skipped on the device and the host reads the
numbers one step late ('lagged' mode: no waiting inside an epoch); otherwise they are read with
ONE host sync per step, after the next batch has been queued ('sync' mode; also SAM and fp16).
Both modes give the same results (see Trainer). bf16 autocast on CUDA (the loss itself always
in float32), channels-last for conv nets, cudnn.benchmark, torch.compile on request.

Reproducibility: data order, initial weights, dropout masks and augmentation draws each have
their own generator seeded from the task seed (rng.torch_seed), so two losses with the same
seed see the same batches; on the CPU a run is bit-for-bit repeatable.
"""
import contextlib
import inspect
import math
import os
import time
from typing import Any, Callable, Dict, List, Optional

import torch
import torch.nn as nn

from . import env
from .augment import Augmenter
from .data import DataCache, DeviceData
from .errors import RunnerError, classify
from .losses import call_loss, make_loss
from .models import Built, build_model, load_checkpoint
from .rng import js_round, torch_seed
from .task import Task, parse_task


_DEFAULT_THREADS = torch.get_num_threads()


def learning_rate(step: int, total: int, peak: float, warmup_frac: float, schedule: str) -> float:
    warm = js_round(warmup_frac * total)
    if step < warm:
        return peak * (step + 1) / warm
    if schedule == 'constant':
        return peak
    span = max(1, total - warm)
    return 0.5 * peak * (1 + math.cos(math.pi * (step - warm) / span))


class BatchStream:
    """Indices of full batches from a stream over 0..n-1, reshuffled at every pass."""

    def __init__(self, n: int, seed: int):
        self.n = n
        self.g = torch.Generator()
        self.g.manual_seed(seed)
        self.order = torch.randperm(n, generator=self.g)
        self.pos = 0

    def next(self, bs: int) -> torch.Tensor:
        parts = []
        need = bs
        while need > 0:
            if self.pos >= self.n:
                self.order = torch.randperm(self.n, generator=self.g)
                self.pos = 0
            take = min(need, self.n - self.pos)
            parts.append(self.order[self.pos:self.pos + take])
            self.pos += take
            need -= take
        return parts[0] if len(parts) == 1 else torch.cat(parts)


def _finite(v: float) -> bool:
    return v == v and v not in (float('inf'), float('-inf'))


def _json_num(v):
    return v if v is not None and _finite(v) else None


def make_optimizer(spec, params: List[torch.Tensor], device: torch.device, lr: float) -> torch.optim.Optimizer:
    """AdamW (Adam with bias correction, decoupled weight decay, epsilon 1e-7 by default as the
    tfjs engine) or SGD (PyTorch semantics, as optim.ts). On CUDA the fused implementation where
    this torch has it (AdamW from 2.0, SGD from 2.4), else foreach."""
    kind = spec.kind if spec is not None else 'adam'
    if kind == 'adam':
        b1 = spec.beta1 if spec is not None and spec.beta1 is not None else 0.9
        b2 = spec.beta2 if spec is not None and spec.beta2 is not None else 0.999
        eps = spec.epsilon if spec is not None and spec.epsilon is not None else 1e-7
        wd = spec.weightDecay if spec is not None and spec.weightDecay is not None else 0.0
        cls, kw, fused_from = torch.optim.AdamW, dict(lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), (2, 0)
    else:
        cls, fused_from = torch.optim.SGD, (2, 4)
        kw = dict(lr=lr, momentum=spec.momentum or 0.0, nesterov=bool(spec.nesterov), weight_decay=spec.weightDecay or 0.0)
    if device.type == 'cuda':
        sig = inspect.signature(cls.__init__).parameters
        if 'fused' in sig and env.version_tuple(torch.__version__) >= fused_from:
            try:
                return cls(params, fused=True, **kw)
            except Exception:  # a parameter the fused kernels do not take: foreach below
                pass
        if 'foreach' in sig:
            return cls(params, foreach=True, **kw)
    return cls(params, **kw)


class Setup:
    """Everything a task needs before its first step (also used by the benchmarks)."""

    def __init__(self, task: Task, cache: Optional[DataCache] = None):
        self.task = task
        tr = task.train
        self.device = env.resolve_device(torch, task.device)
        torch.set_num_threads(task.threads or _DEFAULT_THREADS)  # serve mode: a task without threads gets the default back
        self.precision = env.resolve_precision(torch, task.precision, self.device)
        if tr.sam is not None and self.precision == 'fp16':
            raise RunnerError('bad-task', 'task.precision: SAM with fp16 (gradient scaling) is not supported; pass --precision bf16 or fp32')
        if task.model.kind == 'torchvision':
            from .models import import_torchvision
            import_torchvision()
        if self.device.type == 'cuda':
            torch.backends.cudnn.benchmark = True
        self.cache = cache if cache is not None else DataCache(keep=1)
        self.ds = self.cache.get(task.data)
        self.data: DeviceData = self.cache.on_device(task.data, self.device)
        ds = self.ds
        self.k = ds.classes
        from .data import train_subset
        sub = train_subset(ds, task.data.maxTrain, tr.seed)
        self.subset = torch.tensor(sub, dtype=torch.long) if sub is not None else None
        self.n_train = len(sub) if sub is not None else ds.train.n
        if self.n_train == 0:
            raise RunnerError('dataset', 'the training split of %s is empty; pass a data set with training images' % task.data.path)
        self.loss = make_loss(task.loss, self.k, 'task.loss')
        self.perturb = make_loss(task.perturbLoss, self.k, 'task.perturbLoss') if task.perturbLoss is not None else None
        self.built: Built = build_model(task.model, ds.shape, self.k, torch_seed(tr.seed, 'init', task.model.kind))
        if task.model.init:
            load_checkpoint(self.built, task.model.init)
        self.channels_last = bool(self.built.conv and (task.channelsLast if task.channelsLast is not None else self.device.type == 'cuda'))
        net = self.built.net.to(self.device)
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.module = net
        self.compiled = bool(task.compile and hasattr(torch, 'compile'))
        self.net = torch.compile(net) if self.compiled else net
        seed_drop = torch_seed(tr.seed, 'dropout')
        torch.manual_seed(seed_drop)  # nn.Dropout inside torchvision models
        try:
            g = torch.Generator(device=self.device)
        except Exception:  # a device without its own generators: draw on the CPU
            g = torch.Generator()
        g.manual_seed(seed_drop)
        self.built.dropout.generator = g
        self.augment = Augmenter(task.augment, tr.seed)
        self.autocast_dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(self.precision)

    def info(self) -> dict:
        return env.info_record(torch, self.device, self.precision, self.compiled, self.channels_last)

    def autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


class StepRecord:
    """What the host learns about one finished step."""
    __slots__ = ('step', 'epoch', 'n', 'lr', 'loss', 'correct', 'gsq')

    def __init__(self, step, epoch, n, lr, loss, correct, gsq):
        self.step, self.epoch, self.n, self.lr = step, epoch, n, lr
        self.loss, self.correct, self.gsq = loss, correct, gsq


def gate_works(spec, device: torch.device) -> bool:
    """Whether this torch's optimiser skips a step on the device when `optimizer.found_inf` is 1
    (the protocol GradScaler uses with fused optimisers), checked on a tiny parameter: skipped
    step leaves the parameter and the step count alone, the next one applies."""
    try:
        p = torch.nn.Parameter(torch.ones(4, device=device))
        opt = make_optimizer(spec, [p], device, 0.1)
        if not any(g.get('fused') for g in opt.param_groups):
            return False
        p.grad = torch.ones_like(p)
        opt.grad_scale = None
        opt.found_inf = torch.ones((), device=device)
        opt.step()
        skipped = bool(torch.equal(p.detach(), torch.ones(4, device=device)))
        opt.found_inf = torch.zeros((), device=device)
        opt.step()
        applied = not bool(torch.equal(p.detach(), torch.ones(4, device=device)))
        step = opt.state[p].get('step')
        counted = step is None or float(step) == 1.0
        return skipped and applied and counted
    except Exception:
        return False


class Trainer:
    """The loop of train.ts over a Setup.

    Two ways to run a plain (non-SAM) step, with identical results:
    - sync: the step's [loss, correct, |g|^2] are read (one host sync, after the next batch is
      queued) and the optimiser steps only if they are finite;
    - lagged (CUDA, when the optimiser passes `gate_works`): whether the step is finite is
      decided on the device (a sticky flag: once a step is bad no later one applies), the
      optimiser skips a bad step on the device, and the host reads each step's numbers one
      step later, so it never waits for the device inside an epoch. When a bad step is found
      after the next one was already queued, the BN statistics that step updated are restored
      from a copy taken before it, so the final state equals the sync mode's.
    SAM and fp16 always run in sync mode. `lag='emulate'` runs the lagged control flow with a
    host-side gate (for tests on the CPU).
    """

    def __init__(self, s: Setup, emit: Callable[[dict], None], hooks: Any = None, lag: Optional[str] = None):
        self.s = s
        self.emit = emit
        self.hooks = hooks
        t = s.task.train
        self.t = t
        self.bs = min(t.batchSize or 128, s.n_train)
        self.steps_per_epoch = t.stepsPerEpoch or -(-s.n_train // self.bs)
        self.total = t.epochs * self.steps_per_epoch
        self.peak = t.lr if t.lr is not None else 1e-3
        self.warmup = t.warmup if t.warmup is not None else 0.1
        self.schedule = t.schedule or 'cosine'
        self.test_with = t.testWith or 'best'
        self.params = [p for p in s.module.parameters() if p.requires_grad]
        self.opt = make_optimizer(t.optimizer, self.params, s.device, self.peak)
        self.scaler = None
        if s.precision == 'fp16':
            amp = getattr(torch, 'amp', None)
            self.scaler = amp.GradScaler('cuda') if amp is not None and hasattr(amp, 'GradScaler') else torch.cuda.amp.GradScaler()
        self.stream = BatchStream(s.n_train, torch_seed(t.seed, 'order'))
        self.sam = t.sam
        self.sam_normalize = (t.sam.normalize if t.sam.normalize is not None else s.perturb is None) if t.sam else False
        self.pending = None
        self.eval_bs = 1024 if s.device.type == 'cuda' else 500
        self.bns = [m for m in s.module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        # lagged mode (LOSSMITH_TORCH_LAG=off forces sync mode, =emulate the host-gated lagged mode)
        forced = os.environ.get('LOSSMITH_TORCH_LAG', '')
        if lag is None:
            if forced == 'emulate':
                lag = 'emulate'
            elif (forced != 'off' and self.sam is None and self.scaler is None and s.device.type == 'cuda'
                  and gate_works(t.optimizer, s.device)):
                lag = 'device'
        self.lag = lag if self.sam is None and self.scaler is None else None
        self.alive = torch.ones((), device=s.device)
        self.in_flight: Optional[tuple] = None  # (step, epoch, n, lr, host stats, event)
        if self.lag:
            self.bn_bufs = [b for m in self.bns for b in m.buffers()]
            self.bn_backup = [b.clone() for b in self.bn_bufs]
            pin = s.device.type == 'cuda'
            self.host = [torch.zeros(3, pin_memory=pin) for _ in range(2)]
            self.host_i = 0
        self.mode = 'lagged' if self.lag else 'sync'

    # ---------------------------------------------------------------- batches

    def make_batch(self, step: int):
        s = self.s
        idx = self.stream.next(self.bs)
        if s.subset is not None:
            idx = s.subset.index_select(0, idx)
        if self.hooks is not None and hasattr(self.hooks, 'on_batch'):
            self.hooks.on_batch(step, idx)
        x, labels = s.data.gather('train', idx)
        y = torch.zeros(labels.shape[0], s.k, device=x.device, dtype=x.dtype).scatter_(1, labels[:, None], 1.0)
        if not s.augment.identity:
            x, y = s.augment(x, y)
        return s.prepare(x), y

    def next_batch(self, step: int):
        b = self.pending
        self.pending = None
        return b if b is not None else self.make_batch(step)

    def prefetch(self, step: int) -> None:
        """Queue the next batch while the device still works on this step."""
        if step + 1 < self.total:
            self.pending = self.make_batch(step + 1)

    # ---------------------------------------------------------------- passes

    def grad_pass(self, x, y, objective, what: str, fn: str):
        """Forward + backward of `objective`; returns (objective, training loss, correct) tensors."""
        s = self.s
        with s.autocast():
            logits = s.net(x)
        obj = call_loss(objective, logits, y, fn, what).mean()
        if objective is s.loss:
            train_loss = obj.detach()
        else:
            with torch.no_grad():
                train_loss = call_loss(s.loss, logits.detach(), y, s.task.loss.fn, 'task.loss').mean()
        with torch.no_grad():
            correct = (logits.detach().argmax(1) == y.argmax(1)).sum()
        if self.scaler is not None:
            self.scaler.scale(obj).backward()
        else:
            obj.backward()
        return obj.detach(), train_loss, correct

    def grad_sq(self) -> torch.Tensor:
        grads = [p.grad for p in self.params if p.grad is not None]
        if not grads:
            return torch.zeros((), device=self.s.device)
        if hasattr(torch, '_foreach_norm'):
            return torch.stack(torch._foreach_norm(grads)).float().pow(2).sum()
        return torch.stack([g.float().pow(2).sum() for g in grads]).sum()

    def set_lr(self, lr: float) -> None:
        for g in self.opt.param_groups:
            g['lr'] = lr

    @contextlib.contextmanager
    def frozen_bn(self):
        """BN normalises with batch statistics but does not update its running statistics."""
        saved = [m.track_running_stats for m in self.bns]
        for m in self.bns:
            m.track_running_stats = False
        try:
            yield
        finally:
            for m, v in zip(self.bns, saved):
                m.track_running_stats = v

    def rng_state(self):
        g = self.s.built.dropout.generator
        cuda = torch.cuda.get_rng_state(self.s.device) if self.s.device.type == 'cuda' else None
        return g.get_state() if g is not None else None, torch.get_rng_state(), cuda

    def set_rng_state(self, st) -> None:
        g = self.s.built.dropout.generator
        if g is not None and st[0] is not None:
            g.set_state(st[0])
        torch.set_rng_state(st[1])
        if st[2] is not None:
            torch.cuda.set_rng_state(st[2], self.s.device)

    def plain_step(self, x, y, lr: float, step: int, epoch: int) -> StepRecord:
        s = self.s
        self.opt.zero_grad(set_to_none=True)
        _, train_loss, correct = self.grad_pass(x, y, s.loss, 'task.loss', s.task.loss.fn)
        if self.scaler is not None:
            self.scaler.unscale_(self.opt)
        gsq = self.grad_sq()
        stats = torch.stack([train_loss.float(), correct.float(), gsq])
        self.prefetch(step)
        loss_v, correct_v, gsq_v = stats.tolist()  # the one host sync of the step
        if self.scaler is not None:
            # fp16: overflowing gradients are the scaler's business (it skips and rescales).
            self.set_lr(lr)
            self.scaler.step(self.opt)
            self.scaler.update()
            gsq_v = 0.0 if _finite(loss_v) else gsq_v
        elif _finite(loss_v) and _finite(gsq_v):
            self.set_lr(lr)
            self.opt.step()
        return StepRecord(step, epoch, x.shape[0], lr, loss_v, correct_v, gsq_v)

    def lagged_step(self, x, y, lr: float, step: int, epoch: int) -> Optional[StepRecord]:
        """Queues step `step` without waiting; returns the previous step's record, if any."""
        s = self.s
        if self.in_flight is not None and self.bn_bufs:
            _copy_all(self.bn_backup, self.bn_bufs)  # BN state before this step's forward
        self.opt.zero_grad(set_to_none=True)
        _, train_loss, correct = self.grad_pass(x, y, s.loss, 'task.loss', s.task.loss.fn)
        stats = torch.stack([train_loss.float(), correct.float(), self.grad_sq()])
        self.alive = self.alive * torch.isfinite(stats).all().float()
        found_inf = 1.0 - self.alive
        self.set_lr(lr)
        if self.lag == 'device':
            self.opt.grad_scale = None
            self.opt.found_inf = found_inf
            self.opt.step()
        elif found_inf.item() == 0:  # 'emulate': the same decision, taken on the host
            self.opt.step()
        host = self.host[self.host_i]
        self.host_i ^= 1
        host.copy_(stats, non_blocking=True)
        event = None
        if s.device.type == 'cuda':
            event = torch.cuda.Event()
            event.record()
        self.prefetch(step)
        prev = self.collect()
        self.in_flight = (step, epoch, x.shape[0], lr, host, event)
        return prev

    def collect(self) -> Optional[StepRecord]:
        """The record of the step in flight (waits for it), or None."""
        if self.in_flight is None:
            return None
        step, epoch, n, lr, host, event = self.in_flight
        self.in_flight = None
        if event is not None:
            event.synchronize()
        loss_v, correct_v, gsq_v = host.tolist()
        return StepRecord(step, epoch, n, lr, loss_v, correct_v, gsq_v)

    def sam_step(self, x, y, lr: float, step: int, epoch: int) -> StepRecord:
        s = self.s
        sam = self.sam
        saved_rng = self.rng_state()
        self.opt.zero_grad(set_to_none=True)
        objective = s.perturb if s.perturb is not None else s.loss
        what, fn = ('task.perturbLoss', s.task.perturbLoss.fn) if s.perturb is not None else ('task.loss', s.task.loss.fn)
        obj, train_loss, correct = self.grad_pass(x, y, objective, what, fn)
        self.prefetch(step)
        r1 = torch.stack([obj.float(), train_loss.float(), correct.float()]).tolist()
        gsq_v = float('nan')
        if _finite(r1[0]):
            params = [p for p in self.params if p.grad is not None]
            with torch.no_grad():
                grads = [p.grad for p in params]
                orig = [p.detach().clone() for p in params]
                scaled = [g * p.abs() for g, p in zip(grads, params)] if sam.adaptive else grads
                coef = -sam.rho if s.perturb is not None else sam.rho
                if self.sam_normalize:
                    norm = torch.stack([t.float().pow(2).sum() for t in scaled]).sum().sqrt().item()
                    coef /= norm + 1e-12
                for p, g, sc in zip(params, grads, scaled):
                    p.add_(sc * p.abs() if sam.adaptive else g, alpha=coef)
            self.set_rng_state(saved_rng)
            self.opt.zero_grad(set_to_none=True)
            with self.frozen_bn():
                self.grad_pass(x, y, s.loss, 'task.loss', s.task.loss.fn)
            with torch.no_grad():
                for p, o in zip(params, orig):
                    p.copy_(o)
            gsq_v = self.grad_sq().item()
            if _finite(gsq_v):
                self.set_lr(lr)
                self.opt.step()
        return StepRecord(step, epoch, x.shape[0], lr, r1[1] if _finite(r1[0]) else r1[0], r1[2], gsq_v)

    # ---------------------------------------------------------------- evaluation

    def evaluate(self, split: str, max_n: Optional[int] = None) -> float:
        s = self.s
        total = getattr(s.ds, split).n
        n = min(total, max_n) if max_n is not None else total
        if n == 0:
            return float('nan')
        s.module.eval()
        correct = torch.zeros((), dtype=torch.long, device=s.device)
        try:
            with torch.no_grad():
                for a in range(0, n, self.eval_bs):
                    x, y = s.data.range(split, a, min(a + self.eval_bs, n))
                    with s.autocast():
                        logits = s.net(s.prepare(x))
                    correct += (logits.argmax(1) == y).sum()
        finally:
            s.module.train()
        return int(correct.item()) / n

    def snapshot(self) -> Dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.s.built.state.state_dict().items()}

    # ---------------------------------------------------------------- the loop

    def run(self) -> dict:
        s, t = self.s, self.t
        t0 = time.perf_counter()
        history: List[dict] = []
        best = None
        best_val = float('nan')
        best_epoch = 0
        status, reason = 'completed', None
        train_time = 0.0
        images = 0
        step_every = s.task.stepEvery or 0
        on_step = getattr(self.hooks, 'on_step_end', None) if self.hooks is not None else None
        s.module.train()
        step = 0        # next step to launch
        done = 0        # steps finished and applied
        acc = {}        # epoch -> [loss_sum, correct_sum, seen, last lr]

        def account(rec: Optional[StepRecord]) -> Optional[str]:
            """Books a finished step; returns the NaN reason if it was not finite."""
            nonlocal done, images
            if rec is None:
                return None
            if not _finite(rec.loss) or not _finite(rec.gsq):
                if self.lag and step > rec.step + 1 and self.bn_bufs:
                    _copy_all(self.bn_bufs, self.bn_backup)  # undo the BN update of the step after it
                return ('loss is %s at step %d' % (_js_num(rec.loss), rec.step)) if not _finite(rec.loss) \
                    else 'gradient is not finite at step %d' % rec.step
            a = acc.setdefault(rec.epoch, [0.0, 0.0, 0, 0.0])
            a[0] += rec.loss * rec.n
            a[1] += rec.correct
            a[2] += rec.n
            a[3] = rec.lr
            images += rec.n
            done = rec.step + 1
            if on_step is not None:
                on_step(rec.step, rec.loss)
            if step_every and (rec.step + 1) % step_every == 0:
                self.emit({'type': 'step', 'step': rec.step, 'epoch': rec.epoch, 'trainLoss': rec.loss, 'lr': rec.lr,
                           'steps': self.total})
            return None

        try:
            for epoch in range(1, t.epochs + 1):
                te = time.perf_counter()
                nan_reason = None
                for _ in range(self.steps_per_epoch):
                    ts = time.perf_counter()
                    lr = learning_rate(step, self.total, self.peak, self.warmup, self.schedule)
                    x, y = self.next_batch(step)
                    if self.sam is not None:
                        rec = self.sam_step(x, y, lr, step, epoch)
                    elif self.lag:
                        rec = self.lagged_step(x, y, lr, step, epoch)
                    else:
                        rec = self.plain_step(x, y, lr, step, epoch)
                    step += 1
                    nan_reason = account(rec)
                    train_time += time.perf_counter() - ts
                    if nan_reason:
                        break
                if self.lag and not nan_reason:
                    ts = time.perf_counter()
                    nan_reason = account(self.collect())
                    train_time += time.perf_counter() - ts
                if nan_reason:
                    status, reason = 'nan', nan_reason
                    break
                loss_sum, correct_sum, seen, lr = acc.pop(epoch)
                val = self.evaluate('val', t.maxVal)
                rec_e = {'epoch': epoch, 'trainLoss': loss_sum / seen, 'trainAcc': correct_sum / seen, 'valAcc': val, 'lr': lr,
                         'ms': (time.perf_counter() - te) * 1000}
                history.append(rec_e)
                if val > best_val or (best_val != best_val and val == val):
                    best_val, best_epoch = val, epoch
                    if self.test_with == 'best':
                        best = self.snapshot()
                self.emit({'type': 'epoch', 'epoch': {k: _json_num(v) if isinstance(v, float) else v for k, v in rec_e.items()}})
                es = t.earlyStop
                if es is not None and epoch >= es.afterEpochs and rec_e['trainAcc'] < es.minTrainAcc and epoch < t.epochs:
                    status = 'early-stopped'
                    reason = 'training accuracy %.3f < %s after epoch %d' % (rec_e['trainAcc'], _js_num(es.minTrainAcc), epoch)
                    break
        except KeyboardInterrupt:
            status, reason = 'cancelled', 'cancelled'
        self.pending = None
        self.in_flight = None
        if s.device.type == 'cuda':
            torch.cuda.synchronize(s.device)
        test_acc = None
        test_weights = self.test_with
        if self.test_with == 'best' and best is None:
            test_weights = 'final'
        final_usable = status != 'nan' or len(history) > 0
        if status != 'cancelled' and s.ds.test.n > 0:
            if test_weights == 'best' and best is not None:
                s.built.state.load_state_dict(best)
                test_acc = self.evaluate('test')
            elif final_usable:
                test_acc = self.evaluate('test')
        result = {
            'status': status,
            'history': [{k: _json_num(v) if isinstance(v, float) else v for k, v in r.items()} for r in history],
            'bestValAcc': _json_num(best_val),
            'bestEpoch': best_epoch,
            'testAcc': _json_num(test_acc),
            'testWeights': test_weights,
            'steps': done if status == 'nan' else step,
            'wallMs': (time.perf_counter() - t0) * 1000,
            'imagesPerSec': images / train_time if train_time > 0 else 0.0,
            'dataset': {'name': s.ds.name, 'train': s.n_train, 'val': s.ds.val.n, 'test': s.ds.test.n, 'classes': s.k},
        }
        if reason:
            result['reason'] = reason
        return result


def _copy_all(dst: List[torch.Tensor], src: List[torch.Tensor]) -> None:
    if hasattr(torch, '_foreach_copy_'):
        torch._foreach_copy_(dst, src)
    else:
        for d, s in zip(dst, src):
            d.copy_(s)


def _js_num(v: float) -> str:
    """A number as JavaScript prints it in the reasons ('NaN', 'Infinity', 0.5)."""
    if v != v:
        return 'NaN'
    if v in (float('inf'), float('-inf')):
        return 'Infinity' if v > 0 else '-Infinity'
    return repr(v) if v != int(v) else str(int(v))


def run_task(task_obj, emit: Callable[[dict], None], cache: Optional[DataCache] = None, hooks: Any = None) -> dict:
    """Runs one task (a dict as decoded from JSON, or a Task) and emits its messages; returns
    the result, raises RunnerError (already classified) on failure."""
    ctx: Dict[str, Any] = {}
    try:
        env.import_torch()
        task = task_obj if isinstance(task_obj, Task) else parse_task(task_obj)
        ctx['batchSize'] = task.train.batchSize or 128
        setup = Setup(task, cache)
        ctx['device'] = '%s (%s)' % (setup.device, env.device_name(torch, setup.device))
        trainer = Trainer(setup, emit, hooks)
        emit({'type': 'info', 'info': setup.info()})
        result = trainer.run()
        emit({'type': 'result', 'result': result})
        return result
    except Exception as e:
        raise classify(e, ctx) from e
