"""One segmentation training (protocol/torch-task.ts TorchSegTask): the tfjs engine's
engines/tfjs/seg (unet.ts, train-seg.ts) in PyTorch.

`run_seg_task(task, emit)` validates the task, loads the loss and the data (the segmentation
LMDS file the Node side writes), builds the U-Net, emits `info`, trains, emits one `seg-epoch`
per finished epoch (and `step` every `stepEvery` steps) and finally `result`; errors are
raised as RunnerError for the caller to print.

The network (UNet): two levels down, filters F, 2F, a 4F bottleneck, 2x2 transposed
convolutions up with skip connections (up first, skip second in the concatenation), a 1x1
convolution to the K classes; 3x3 convolutions without bias, each followed by instance
normalisation (affine, eps 1e-5: unet.ts's instanceNorm; without any normalisation soft Dice
collapsed to all-background) and ReLU, 'same' padding (1 on each
side at stride 1, as TensorFlow's), 2x2 max pooling. Sides not divisible by 4 are zero-padded
to the next multiple (floor(extra/2) before, the rest after) and the logits cropped back.
Initialisation as unet.ts: He uniform U(+-sqrt(6 / fan_in)) for the ReLU convolutions (fan_in
9 cin) and the up-convolutions (fan_in cin: each output pixel is one kernel tap), Glorot
uniform for the 1x1 head, zero biases, drawn from one generator seeded by the task seed
(rng.torch_seed(seed, 'init', 'unet')). Instance normalisation, not batch norm: training and
evaluation are the same function of the weights, and no prediction depends on its batch.

The loop (train-seg.ts): a stream of full batches of bs = min(batchSize, nTrain), reshuffled
at every pass (train.BatchStream, seeded 'order'); an epoch is stepsPerEpoch steps (default
ceil(nTrain / bs)); Adam (train.make_optimizer: epsilon 1e-7, no weight decay) at a constant
rate on the batch mean of the per-image loss; a non-finite loss or gradient ends the training
as 'nan' without applying the step ('loss is NaN at step 3', as the tfjs engine words it);
SIGINT (KeyboardInterrupt) ends it as 'cancelled'.

After every epoch the validation split is predicted (per-pixel argmax, uint8) and sent back
with the epoch; the Node side computes the reported Dice and IoU from it with
engine/src/data/seg-metrics.ts. The runner chooses the best epoch by its own foreground Dice
(`foreground_dice`: the same integer counts and the same float64 operations in the same order
as segMetrics, so both give the same number to the last bit) and keeps those weights (the
first epoch that reaches the best); the test split is predicted with them at the end.

Label maps travel in the JSON line, zlib-compressed and base64-encoded (TorchLabelMapsJson):
the runner's protocol is JSON lines, and this keeps it so (no file to name, clean up or leave
behind when the runner is killed); segmentation masks are mostly background and compress
about 20-50x.

Device and precision as train.py: the data on the device, fp32 on the CPU, bf16 autocast on
GPUs that have it (the loss in float32), fp16 with a GradScaler, channels-last on CUDA,
torch.compile on request. Reproducibility: on the CPU with a fixed thread count, a task run
twice gives identical numbers.
"""
import base64
import inspect
import math
import os
import time
import traceback
import zlib
from typing import Any, Callable, Dict, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import env
from .data import SegDataset, read_seg_lmds, tensor_bytes, to_float
from .errors import RunnerError, classify, first_line
from .losses import call_loss, check_output, load_module
from .rng import torch_seed
from .task import LossSpec, SegTask, parse_seg_task
from .train import _DEFAULT_THREADS, BatchStream, _finite, _js_num, _json_num, make_optimizer

UNET_SIDE_MULTIPLE = 4
LABEL_ENCODING = 'uint8-zlib-base64'


# ---------------------------------------------------------------- the network

def unet_padding(n: int) -> Tuple[int, int]:
    """Padding before and after a side of n pixels to reach a multiple of 4 (unet.ts unetPadding)."""
    extra = (UNET_SIDE_MULTIPLE - n % UNET_SIDE_MULTIPLE) % UNET_SIDE_MULTIPLE
    return extra // 2, extra - extra // 2


def _conv_in_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.InstanceNorm2d(cout, eps=1e-5, affine=True), nn.ReLU(inplace=True))


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(_conv_in_relu(cin, cout), _conv_in_relu(cout, cout))


class UNet(nn.Module):
    """The two-level U-Net of unet.ts: logits [N, K, H, W] of images [N, channels, H, W], any H, W."""

    def __init__(self, channels: int, classes: int, filters: int):
        super().__init__()
        f = filters
        self.channels, self.classes, self.filters = channels, classes, filters
        self.down1 = _block(channels, f)
        self.down2 = _block(f, 2 * f)
        self.bottleneck = _block(2 * f, 4 * f)
        self.up2 = nn.ConvTranspose2d(4 * f, 2 * f, 2, stride=2)
        self.dec2 = _block(4 * f, 2 * f)
        self.up1 = nn.ConvTranspose2d(2 * f, f, 2, stride=2)
        self.dec1 = _block(2 * f, f)
        self.head = nn.Conv2d(f, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        ph, pw = unet_padding(h), unet_padding(w)
        padded = ph[0] + ph[1] + pw[0] + pw[1] > 0
        if padded:
            x = F.pad(x, (pw[0], pw[1], ph[0], ph[1]))
        s1 = self.down1(x)
        s2 = self.down2(F.max_pool2d(s1, 2))
        b = self.bottleneck(F.max_pool2d(s2, 2))
        d2 = self.dec2(torch.cat([self.up2(b), s2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), s1], 1))
        logits = self.head(d1)
        if padded:
            logits = logits[:, :, ph[0]:ph[0] + h, pw[0]:pw[0] + w]
        return logits


def init_unet(net: UNet, seed: int) -> None:
    """He uniform (ReLU convolutions, up-convolutions), Glorot uniform (head), zero biases, from
    one CPU generator seeded `seed`, in the order of the modules."""
    g = torch.Generator()
    g.manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.ConvTranspose2d):
                limit = math.sqrt(6.0 / m.in_channels)
            elif isinstance(m, nn.Conv2d):
                k = m.kernel_size[0] * m.kernel_size[1]
                limit = math.sqrt(6.0 / (k * m.in_channels + k * m.out_channels)) if m is net.head else math.sqrt(6.0 / (k * m.in_channels))
            else:
                continue
            w = torch.empty(m.weight.shape).uniform_(-limit, limit, generator=g)
            m.weight.copy_(w)
            if m.bias is not None:
                m.bias.zero_()


def build_unet(channels: int, classes: int, filters: int, seed: int) -> UNet:
    net = UNet(channels, classes, filters)
    init_unet(net, torch_seed(seed, 'init', 'unet'))
    return net


# ---------------------------------------------------------------- the loss

class SegLoss:
    """An exported segmentation loss: fn(logits [N,K,H,W], target [N,H,W] int64[, dist
    [N,K,H,W]], **params) -> [N]; `reads_dist` from the function's signature."""

    def __init__(self, spec: LossSpec, classes: int, what: str = 'task.loss'):
        self.what = what
        self.name = spec.fn
        mod = load_module(spec.module, what)
        fn = getattr(mod, spec.fn, None)
        if fn is None or not callable(fn):
            names = [n for n in dir(mod) if not n.startswith('_') and callable(getattr(mod, n))
                     and getattr(getattr(mod, n), '__module__', None) == mod.__name__]
            raise RunnerError('loss', '%s.fn: the module defines no function %r (it defines: %s); pass the exported function\'s name'
                              % (what, spec.fn, ', '.join(names) or 'none'))
        self.fn = fn
        self.params = dict(spec.params or {})
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            sig = None
        positional = [p.name for p in sig.parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)] if sig is not None else ['logits', 'target']
        if len(positional) < 2 or len(positional) > 3 or (len(positional) == 3 and positional[2] != 'dist'):
            raise RunnerError('loss', '%s: %s(%s) is not a segmentation loss (expected fn(logits, target[, dist], *, params)); '
                              'export a `task segmentation` loss with `lossmith export FILE --to pytorch`'
                              % (what, spec.fn, ', '.join(positional)))
        self.reads_dist = len(positional) == 3
        # One call on a tiny batch: runs, returns [N].
        logits = torch.zeros(2, classes, 3, 3)
        logits[0, 0] = 2.0
        target = torch.zeros(2, 3, 3, dtype=torch.long)
        target[1] = classes - 1
        dist = torch.zeros(2, classes, 3, 3) if self.reads_dist else None
        try:
            out = self._call(logits, target, dist)
        except TypeError as e:
            raise RunnerError('loss', '%s: calling %s(logits, target%s%s) failed: %s; check %s.params against the function\'s keyword arguments'
                              % (what, spec.fn, ', dist' if self.reads_dist else '',
                                 ''.join(', %s=%g' % kv for kv in self.params.items()), first_line(e), what), traceback.format_exc())
        except Exception as e:
            raise RunnerError('loss', '%s: %s(logits, target) raised %s: %s; check the exported module'
                              % (what, spec.fn, type(e).__name__, first_line(e)), traceback.format_exc())
        check_output(out, 2, spec.fn, what)

    def _call(self, logits, target, dist):
        if dist is not None:
            return self.fn(logits, target, dist, **self.params)
        return self.fn(logits, target, **self.params)

    def __call__(self, logits: torch.Tensor, target: torch.Tensor, dist: Optional[torch.Tensor]) -> torch.Tensor:
        """Per-image loss [N] in float32 (autocast off), errors as code 'loss'."""
        return call_loss(lambda lg, tg: self._call(lg, tg, dist), logits, target, self.name, self.what)


# ---------------------------------------------------------------- metrics and label maps

def foreground_dice(pred: torch.Tensor, target: torch.Tensor, classes: int) -> Optional[float]:
    """Mean over images of the mean over foreground classes of 2|P∩T| / (|P| + |T|) (1 when both
    are empty), as engine/src/data/seg-metrics.ts segMetrics computes its `dice`: the same
    integer counts, the same float64 operations in the same order, so the same number to the
    last bit. None for no images."""
    n = int(pred.shape[0])
    if n == 0:
        return None
    p = pred.reshape(n, -1)
    t = target.reshape(n, -1)
    inter, np_, nt = [], [], []
    for c in range(1, classes):
        pc, tc = p == c, t == c
        np_.append(pc.sum(1))
        nt.append(tc.sum(1))
        inter.append((pc & tc).sum(1))
    I = torch.stack(inter, 1).tolist()
    A = torch.stack(np_, 1).tolist()
    B = torch.stack(nt, 1).tolist()
    k = classes - 1
    total = 0.0
    for i in range(n):
        dice = 0.0
        for c in range(k):
            a, b = A[i][c], B[i][c]
            if a == 0 and b == 0:
                dice += 1
                continue
            dice += (2 * I[i][c]) / (a + b)
        total += dice / k
    return total / n


def encode_label_maps(pred: torch.Tensor) -> dict:
    """TorchLabelMapsJson of uint8 label maps [n, H, W] (CPU)."""
    n, h, w = (int(v) for v in pred.shape)
    raw = tensor_bytes(pred.to(torch.uint8).contiguous())
    return {'n': n, 'height': h, 'width': w, 'encoding': LABEL_ENCODING,
            'data': base64.b64encode(zlib.compress(raw, 1)).decode('ascii')}


def decode_label_maps(m: dict) -> torch.Tensor:
    """The inverse of encode_label_maps (tests and tools)."""
    raw = zlib.decompress(base64.b64decode(m['data']))
    t = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.zeros(0, dtype=torch.uint8)
    return t.view(m['n'], m['height'], m['width'])


# ---------------------------------------------------------------- data

_data_cache: Dict[tuple, Any] = {}


class SegDeviceData:
    """A segmentation data set's splits on the device (images as stored, masks uint8, train dist)."""

    def __init__(self, ds: SegDataset, device: torch.device):
        self.ds = ds
        self.device = device
        self.splits = {}
        for name in ('train', 'val', 'test'):
            s = getattr(ds, name)
            self.splits[name] = (s.x.to(device), s.masks.to(device), s.dist.to(device) if s.dist is not None else None)

    def gather(self, split: str, idx: torch.Tensor, with_dist: bool):
        x, m, d = self.splits[split]
        di = idx.to(self.device) if self.device.type != 'cpu' else idx
        return to_float(x.index_select(0, di)), m.index_select(0, di).long(), (d.index_select(0, di) if with_dist else None)

    def images(self, split: str, start: int, stop: int) -> torch.Tensor:
        return to_float(self.splits[split][0][start:stop])


def load_seg_data(path: str, device: torch.device) -> SegDeviceData:
    """The data file on the device, kept for the next task (serve mode: one segmentation data set at a time)."""
    try:
        st = os.stat(path)
        key = (os.path.abspath(path), st.st_mtime_ns, st.st_size, str(device))
    except OSError:
        key = None
    if key is not None and key in _data_cache:
        return _data_cache[key]
    _data_cache.clear()
    dd = SegDeviceData(read_seg_lmds(path), device)
    if key is not None:
        _data_cache[key] = dd
    return dd


# ---------------------------------------------------------------- the training

class SegSetup:
    """Everything a segmentation task needs before its first step."""

    def __init__(self, task: SegTask):
        self.task = task
        self.device = env.resolve_device(torch, task.device)
        torch.set_num_threads(task.threads or _DEFAULT_THREADS)
        self.precision = env.resolve_precision(torch, task.precision, self.device)
        if self.device.type == 'cuda':
            torch.backends.cudnn.benchmark = True
        self.data = load_seg_data(task.data.path, self.device)
        ds = self.ds = self.data.ds
        self.k = ds.classes
        self.loss = SegLoss(task.loss, self.k, 'task.loss')
        self.h, self.w, self.c = ds.shape
        self.n_train = ds.train.n
        if self.n_train == 0:
            raise RunnerError('dataset', 'the training split of %s is empty; pass a data set with training images' % task.data.path)
        if self.loss.reads_dist and ds.train.dist is None:
            raise RunnerError('dataset', '%s reads dist but %s has no distance maps for the training split; the Node side writes them '
                              'for losses that read dist: write the file again' % (task.loss.fn, task.data.path))
        net = build_unet(self.c, self.k, task.model.filters, task.train.seed).to(self.device)
        self.channels_last = bool(task.channelsLast if task.channelsLast is not None else self.device.type == 'cuda')
        if self.channels_last:
            net = net.to(memory_format=torch.channels_last)
        self.module = net
        self.compiled = bool(task.compile and hasattr(torch, 'compile'))
        self.net = torch.compile(net) if self.compiled else net
        self.autocast_dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(self.precision)

    def info(self) -> dict:
        return env.info_record(torch, self.device, self.precision, self.compiled, self.channels_last)

    def autocast(self):
        if self.autocast_dtype is None:
            import contextlib
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x


class SegTrainer:
    """The loop of train-seg.ts over a SegSetup (one host sync per step: the loss and the
    squared gradient norm decide whether the step is applied)."""

    def __init__(self, s: SegSetup, emit: Callable[[dict], None], hooks: Any = None):
        self.s = s
        self.emit = emit
        self.hooks = hooks
        t = s.task.train
        self.t = t
        self.bs = min(t.batchSize, s.n_train)
        self.steps_per_epoch = t.stepsPerEpoch or -(-s.n_train // self.bs)
        self.total = t.epochs * self.steps_per_epoch
        self.lr = t.lr
        self.params = [p for p in s.module.parameters() if p.requires_grad]
        self.opt = make_optimizer(None, self.params, s.device, self.lr)
        self.scaler = None
        if s.precision == 'fp16':
            amp = getattr(torch, 'amp', None)
            self.scaler = amp.GradScaler('cuda') if amp is not None and hasattr(amp, 'GradScaler') else torch.cuda.amp.GradScaler()
        self.stream = BatchStream(s.n_train, torch_seed(t.seed, 'order'))
        self.eval_bs = 1024 if s.device.type == 'cuda' else 256

    def grad_sq(self) -> torch.Tensor:
        grads = [p.grad for p in self.params if p.grad is not None]
        if not grads:
            return torch.zeros((), device=self.s.device)
        if hasattr(torch, '_foreach_norm'):
            return torch.stack(torch._foreach_norm(grads)).float().pow(2).sum()
        return torch.stack([g.float().pow(2).sum() for g in grads]).sum()

    def step(self, idx: torch.Tensor) -> Tuple[float, float]:
        """One step on the batch idx; returns (loss, squared gradient norm); applied only when both are finite."""
        s = self.s
        x, target, dist = s.data.gather('train', idx, s.loss.reads_dist)
        self.opt.zero_grad(set_to_none=True)
        with s.autocast():
            logits = s.net(s.prepare(x))
        obj = s.loss(logits, target, dist).mean()
        if self.scaler is not None:
            self.scaler.scale(obj).backward()
            self.scaler.unscale_(self.opt)
        else:
            obj.backward()
        loss_v, gsq_v = torch.stack([obj.detach().float(), self.grad_sq()]).tolist()  # the one host sync of the step
        if self.scaler is not None:
            # fp16: overflowing gradients are the scaler's business (it skips the step and rescales).
            if _finite(loss_v):
                self.scaler.step(self.opt)
                self.scaler.update()
                gsq_v = 0.0
        elif _finite(loss_v) and _finite(gsq_v):
            self.opt.step()
        return loss_v, gsq_v

    def predict(self, split: str) -> torch.Tensor:
        """Per-pixel argmax over a split, uint8 [n, H, W] on the CPU."""
        s = self.s
        n = getattr(s.ds, split).n
        out = torch.zeros((n, s.h, s.w), dtype=torch.uint8)
        s.module.eval()
        try:
            with torch.no_grad():
                for a in range(0, n, self.eval_bs):
                    b = min(a + self.eval_bs, n)
                    with s.autocast():
                        logits = s.net(s.prepare(s.data.images(split, a, b)))
                    out[a:b] = logits.float().argmax(1).to(torch.uint8).cpu()
        finally:
            s.module.train()
        return out

    def snapshot(self) -> Dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.s.module.state_dict().items()}

    def run(self) -> dict:
        s, t = self.s, self.t
        t0 = time.perf_counter()
        step_every = s.task.stepEvery or 0
        on_step = getattr(self.hooks, 'on_step_end', None) if self.hooks is not None else None
        best = None
        best_dice: Optional[float] = None
        best_epoch = 0
        status, reason = 'completed', None
        step = 0  # steps applied
        images = 0
        train_time = 0.0
        val_masks = s.ds.val.masks
        s.module.train()
        try:
            for epoch in range(1, t.epochs + 1):
                te = time.perf_counter()
                loss_sum = 0.0
                for _ in range(self.steps_per_epoch):
                    ts = time.perf_counter()
                    loss_v, gsq_v = self.step(self.stream.next(self.bs))
                    train_time += time.perf_counter() - ts
                    if not _finite(loss_v) or not _finite(gsq_v):
                        status = 'nan'
                        reason = ('loss is %s at step %d' % (_js_num(loss_v), step)) if not _finite(loss_v) \
                            else 'gradient is not finite at step %d' % step
                        break
                    loss_sum += loss_v
                    images += self.bs
                    step += 1
                    if on_step is not None:
                        on_step(step - 1, loss_v)
                    if step_every and step % step_every == 0:
                        self.emit({'type': 'step', 'step': step - 1, 'epoch': epoch, 'trainLoss': loss_v, 'lr': self.lr,
                                   'steps': self.total})
                if status == 'nan':
                    break
                val = None
                dice = None
                if s.ds.val.n > 0:
                    pred = self.predict('val')
                    dice = foreground_dice(pred, val_masks, s.k)
                    val = encode_label_maps(pred)
                if dice is not None and (best_dice is None or dice > best_dice):
                    best_dice, best_epoch = dice, epoch
                    best = self.snapshot()
                rec = {'epoch': epoch, 'loss': _json_num(loss_sum / self.steps_per_epoch), 'valDice': dice,
                       'ms': (time.perf_counter() - te) * 1000}
                self.emit({'type': 'seg-epoch', 'epoch': rec, 'val': val})
        except KeyboardInterrupt:
            status, reason = 'cancelled', 'cancelled'
        if s.device.type == 'cuda':
            torch.cuda.synchronize(s.device)
        test = None
        if status == 'completed' and s.ds.test.n > 0:
            if best is not None:
                s.module.load_state_dict(best)
            test = encode_label_maps(self.predict('test'))
        result = {
            'status': status,
            'bestEpoch': best_epoch,
            'bestValDice': best_dice,
            'steps': step,
            'wallMs': (time.perf_counter() - t0) * 1000,
            'imagesPerSec': images / train_time if train_time > 0 else 0.0,
            'test': test,
        }
        if reason:
            result['reason'] = reason
        return result


def run_seg_task(task_obj, emit: Callable[[dict], None], hooks: Any = None) -> dict:
    """Runs one segmentation task (a dict as decoded from JSON, or a SegTask) and emits its
    messages; returns the result, raises RunnerError (already classified) on failure."""
    ctx: Dict[str, Any] = {}
    try:
        env.import_torch()
        task = task_obj if isinstance(task_obj, SegTask) else parse_seg_task(task_obj)
        ctx['batchSize'] = task.train.batchSize
        setup = SegSetup(task)
        ctx['device'] = '%s (%s)' % (setup.device, env.device_name(torch, setup.device))
        trainer = SegTrainer(setup, emit, hooks)
        emit({'type': 'info', 'info': setup.info()})
        result = trainer.run()
        emit({'type': 'result', 'result': result})
        return result
    except Exception as e:
        raise classify(e, ctx) from e
