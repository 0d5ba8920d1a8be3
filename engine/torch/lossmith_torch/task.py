"""The task a runner receives, mirrored from protocol/torch-task.ts (TorchTask and its parts).

`parse_task(obj)` validates a decoded JSON object and returns a `Task` of dataclasses, or
raises `RunnerError('bad-task', ...)` whose one-line message lists every bad field as
`task.<path>: <what is wrong> (<what is accepted>)`. Fields keep the TypeScript names in the
JSON and snake_case in Python; absent optional fields are None and `task_to_dict(task)` omits
them again, so `task_to_dict(parse_task(d)) == d` for any valid `d` (a test round-trips the
examples). Unknown fields are errors: the task is produced by the Node bridge, and a name it
gets wrong should fail loudly rather than be ignored.

Defaults are applied where the value is used (train.py), with the same values as
engine/src/train.ts: lr 1e-3, warmup 0.1, cosine, batch 128, Adam, testWith 'best'.

Segmentation tasks (TorchSegTask, `kind: 'segmentation'`) have their own dataclasses
(`SegTask`), validated by `parse_seg_task`; GAN tasks (TorchGanTask, `kind: 'gan'`) theirs
(`GanTask`, `parse_gan_task`); `parse_any_task` dispatches on `kind`.
"""
import math
import re
from dataclasses import dataclass, fields
from typing import Any, Dict, List, Optional

from .errors import RunnerError

TORCH_TASK_VERSION = 1
MODEL_KINDS = ('mlp', 'convnet', 'resnet9', 'lenet', 'wrn-16-4', 'wrn-28-10', 'resnet18', 'torchvision')
DATA_KINDS = ('tensors', 'cifar', 'imagefolder')
PRECISIONS = ('auto', 'fp32', 'bf16', 'fp16')
DEVICE_RE = re.compile(r'^(auto|cpu|cuda|cuda:\d+|mps)$')
IDENT_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


@dataclass
class LossSpec:
    module: str
    fn: str
    params: Optional[Dict[str, float]] = None


@dataclass
class ModelSpec:
    kind: str
    width: Optional[float] = None
    hidden: Optional[List[int]] = None
    bnMomentum: Optional[float] = None
    arch: Optional[str] = None
    init: Optional[str] = None


@dataclass
class DataSpec:
    kind: str
    path: str
    maxTrain: Optional[int] = None
    size: Optional[int] = None


@dataclass
class OptimizerSpec:
    kind: str
    beta1: Optional[float] = None
    beta2: Optional[float] = None
    epsilon: Optional[float] = None
    momentum: Optional[float] = None
    nesterov: Optional[bool] = None
    weightDecay: Optional[float] = None


@dataclass
class EarlyStopSpec:
    minTrainAcc: float
    afterEpochs: int


@dataclass
class SamSpec:
    rho: float
    adaptive: Optional[bool] = None
    normalize: Optional[bool] = None


@dataclass
class TrainSpec:
    epochs: int
    seed: int
    optimizer: Optional[OptimizerSpec] = None
    lr: Optional[float] = None
    warmup: Optional[float] = None
    schedule: Optional[str] = None
    batchSize: Optional[int] = None
    stepsPerEpoch: Optional[int] = None
    maxVal: Optional[int] = None
    earlyStop: Optional[EarlyStopSpec] = None
    testWith: Optional[str] = None
    sam: Optional[SamSpec] = None


@dataclass
class Task:
    version: int
    loss: LossSpec
    model: ModelSpec
    data: DataSpec
    augment: str
    train: TrainSpec
    device: str
    precision: str
    perturbLoss: Optional[LossSpec] = None
    channelsLast: Optional[bool] = None
    compile: Optional[bool] = None
    threads: Optional[int] = None
    stepEvery: Optional[int] = None


class _Checker:
    """Collects one message per bad field."""

    def __init__(self):
        self.errors: List[str] = []

    def err(self, path: str, msg: str) -> None:
        self.errors.append('%s: %s' % (path, msg))

    def obj(self, v: Any, path: str, known: tuple, required: tuple = ()) -> Optional[dict]:
        if not isinstance(v, dict):
            self.err(path, 'must be an object, got %s' % _show(v))
            return None
        for k in v:
            if k not in known:
                self.err('%s.%s' % (path, k), 'unknown field (known: %s)' % ', '.join(known))
        for k in required:
            if k not in v:
                self.err('%s.%s' % (path, k), 'is required')
        return v

    def num(self, d: dict, key: str, path: str, lo=None, hi=None, lo_open=False, hi_open=False,
            integer=False, required=False) -> Any:
        if key not in d:
            return None
        if d[key] is None:
            if required:
                self.err('%s.%s' % (path, key), 'is required, got null')
            return None
        v = d[key]
        what = 'an integer' if integer else 'a finite number'
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if ok and integer and v != int(v):
            ok = False
        rng = ''
        if lo is not None:
            rng += ' %s %s' % ('>' if lo_open else '>=', lo)
            if ok and (v <= lo if lo_open else v < lo):
                ok = False
        if hi is not None:
            rng += '%s %s %s' % (' and' if lo is not None else '', '<' if hi_open else '<=', hi)
            if ok and (v >= hi if hi_open else v > hi):
                ok = False
        if not ok:
            self.err('%s.%s' % (path, key), 'must be %s%s, got %s' % (what, rng, _show(v)))
            return None
        return int(v) if integer else v

    def boolean(self, d: dict, key: str, path: str) -> Optional[bool]:
        if key not in d or d[key] is None:
            return None
        v = d[key]
        if not isinstance(v, bool):
            self.err('%s.%s' % (path, key), 'must be true or false, got %s' % _show(v))
            return None
        return v

    def string(self, d: dict, key: str, path: str, choices: Optional[tuple] = None, nonempty=True) -> Optional[str]:
        if key not in d or d[key] is None:
            return None
        v = d[key]
        if not isinstance(v, str) or (nonempty and not v.strip()):
            self.err('%s.%s' % (path, key), 'must be a non-empty string, got %s' % _show(v))
            return None
        if choices is not None and v not in choices:
            self.err('%s.%s' % (path, key), 'must be one of %s, got %s' % (', '.join(repr(c) for c in choices), _show(v)))
            return None
        return v


def _show(v: Any) -> str:
    if isinstance(v, str):
        s = repr(v)
        return s if len(s) <= 60 else s[:57] + "...'"
    if v is None:
        return 'null'
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, (dict, list)):
        return 'an object' if isinstance(v, dict) else 'a list'
    return repr(v)


def _loss(c: _Checker, v: Any, path: str) -> Optional[LossSpec]:
    d = c.obj(v, path, ('module', 'fn', 'params'), ('module', 'fn'))
    if d is None:
        return None
    module = c.string(d, 'module', path)
    fn = c.string(d, 'fn', path)
    if fn is not None and not IDENT_RE.match(fn):
        c.err(path + '.fn', 'must be a Python identifier, got %s' % _show(fn))
    params = None
    if d.get('params') is not None:
        p = d['params']
        if not isinstance(p, dict):
            c.err(path + '.params', 'must be an object of name: number, got %s' % _show(p))
        else:
            params = {}
            for k, val in p.items():
                if not IDENT_RE.match(k):
                    c.err('%s.params.%s' % (path, k), 'is not a Python identifier')
                elif isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
                    c.err('%s.params.%s' % (path, k), 'must be a finite number, got %s' % _show(val))
                else:
                    params[k] = val
    if module is None or fn is None:
        return None
    return LossSpec(module=module, fn=fn, params=params)


def _model(c: _Checker, v: Any) -> Optional[ModelSpec]:
    path = 'task.model'
    d = c.obj(v, path, ('kind', 'width', 'hidden', 'bnMomentum', 'arch', 'init'), ('kind',))
    if d is None:
        return None
    kind = c.string(d, 'kind', path, MODEL_KINDS)
    width = c.num(d, 'width', path, lo=0, lo_open=True)
    hidden = None
    if d.get('hidden') is not None:
        h = d['hidden']
        if not isinstance(h, list) or not h or any(isinstance(x, bool) or not isinstance(x, int) or x < 1 for x in h):
            c.err(path + '.hidden', 'must be a non-empty list of positive integers, got %s' % _show(h))
        else:
            hidden = list(h)
    bn = c.num(d, 'bnMomentum', path, lo=0, hi=1, hi_open=True)
    arch = c.string(d, 'arch', path)
    init = c.string(d, 'init', path)
    if kind == 'torchvision' and arch is None and 'arch' not in d:
        c.err(path + '.arch', "is required for kind 'torchvision' (a constructor in torchvision.models, e.g. 'resnet50')")
    if kind is not None and kind != 'torchvision' and arch is not None:
        c.err(path + '.arch', "is only for kind 'torchvision', not %r" % kind)
    if kind is not None and kind != 'mlp' and hidden is not None:
        c.err(path + '.hidden', "is only for kind 'mlp', not %r" % kind)
    if kind is None:
        return None
    return ModelSpec(kind=kind, width=width, hidden=hidden, bnMomentum=bn, arch=arch, init=init)


def _data(c: _Checker, v: Any) -> Optional[DataSpec]:
    path = 'task.data'
    d = c.obj(v, path, ('kind', 'path', 'maxTrain', 'size'), ('kind', 'path'))
    if d is None:
        return None
    kind = c.string(d, 'kind', path, DATA_KINDS)
    p = c.string(d, 'path', path)
    max_train = c.num(d, 'maxTrain', path, lo=1, integer=True)
    size = c.num(d, 'size', path, lo=1, integer=True)
    if kind == 'tensors' and d.get('maxTrain') is not None:
        c.err(path + '.maxTrain', "is not for kind 'tensors' (the LMDS file holds the exact training split)")
    if kind in ('tensors', 'cifar') and d.get('size') is not None:
        c.err(path + '.size', "is only for kind 'imagefolder'")
    if kind is None or p is None:
        return None
    return DataSpec(kind=kind, path=p, maxTrain=max_train, size=size)


def _optimizer(c: _Checker, v: Any) -> Optional[OptimizerSpec]:
    path = 'task.train.optimizer'
    if not isinstance(v, dict):
        c.err(path, 'must be an object, got %s' % _show(v))
        return None
    kind = v.get('kind')
    if kind == 'adam':
        d = c.obj(v, path, ('kind', 'beta1', 'beta2', 'epsilon', 'weightDecay'))
        return OptimizerSpec(kind='adam', beta1=c.num(d, 'beta1', path, lo=0, hi=1, hi_open=True),
                             beta2=c.num(d, 'beta2', path, lo=0, hi=1, hi_open=True),
                             epsilon=c.num(d, 'epsilon', path, lo=0),
                             weightDecay=c.num(d, 'weightDecay', path, lo=0))
    if kind == 'sgd':
        d = c.obj(v, path, ('kind', 'momentum', 'nesterov', 'weightDecay'))
        mom = c.num(d, 'momentum', path, lo=0, hi=1, hi_open=True)
        nest = c.boolean(d, 'nesterov', path)
        if nest and not (mom and mom > 0):
            c.err(path + '.nesterov', 'Nesterov momentum needs momentum > 0 (set task.train.optimizer.momentum, e.g. 0.9)')
        return OptimizerSpec(kind='sgd', momentum=mom, nesterov=nest, weightDecay=c.num(d, 'weightDecay', path, lo=0))
    c.err(path + '.kind', "must be 'adam' or 'sgd', got %s" % _show(kind))
    return None


def _train(c: _Checker, v: Any) -> Optional[TrainSpec]:
    path = 'task.train'
    known = ('optimizer', 'lr', 'warmup', 'schedule', 'batchSize', 'epochs', 'stepsPerEpoch', 'maxVal', 'seed',
             'earlyStop', 'testWith', 'sam')
    d = c.obj(v, path, known, ('epochs', 'seed'))
    if d is None:
        return None
    opt = _optimizer(c, d['optimizer']) if d.get('optimizer') is not None else None
    early = None
    if d.get('earlyStop') is not None:
        e = c.obj(d['earlyStop'], path + '.earlyStop', ('minTrainAcc', 'afterEpochs'), ('minTrainAcc', 'afterEpochs'))
        if e is not None:
            m = c.num(e, 'minTrainAcc', path + '.earlyStop', lo=0, hi=1)
            a = c.num(e, 'afterEpochs', path + '.earlyStop', lo=1, integer=True)
            if m is not None and a is not None:
                early = EarlyStopSpec(minTrainAcc=m, afterEpochs=a)
    sam = None
    if d.get('sam') is not None:
        s = c.obj(d['sam'], path + '.sam', ('rho', 'adaptive', 'normalize'), ('rho',))
        if s is not None:
            rho = c.num(s, 'rho', path + '.sam', lo=0, lo_open=True)
            if rho is not None:
                sam = SamSpec(rho=rho, adaptive=c.boolean(s, 'adaptive', path + '.sam'),
                              normalize=c.boolean(s, 'normalize', path + '.sam'))
    epochs = c.num(d, 'epochs', path, lo=1, integer=True, required=True)
    seed = c.num(d, 'seed', path, integer=True, required=True)
    out = TrainSpec(
        epochs=epochs, seed=seed, optimizer=opt,
        lr=c.num(d, 'lr', path, lo=0, lo_open=True),
        warmup=c.num(d, 'warmup', path, lo=0, hi=1),
        schedule=c.string(d, 'schedule', path, ('cosine', 'constant')),
        batchSize=c.num(d, 'batchSize', path, lo=1, integer=True),
        stepsPerEpoch=c.num(d, 'stepsPerEpoch', path, lo=1, integer=True),
        maxVal=c.num(d, 'maxVal', path, lo=0, integer=True),
        earlyStop=early,
        testWith=c.string(d, 'testWith', path, ('best', 'final')),
        sam=sam)
    if epochs is None or seed is None:
        return None
    return out


def parse_task(obj: Any) -> Task:
    """Validates a decoded task (see the module comment); raises RunnerError('bad-task')."""
    c = _Checker()
    known = tuple(f.name for f in fields(Task))
    required = ('version', 'loss', 'model', 'data', 'augment', 'train', 'device', 'precision')
    d = c.obj(obj, 'task', known, required)
    if d is None:
        raise RunnerError('bad-task', 'task: ' + c.errors[0].split(': ', 1)[1] + '; send one JSON object per task (protocol/torch-task.ts)')
    if 'version' in d and d['version'] != TORCH_TASK_VERSION:
        c.err('task.version', 'must be %d, got %s (the Node side and the runner are from different Lossmith versions: reinstall them together)'
              % (TORCH_TASK_VERSION, _show(d['version'])))
    loss = _loss(c, d['loss'], 'task.loss') if 'loss' in d else None
    perturb = _loss(c, d['perturbLoss'], 'task.perturbLoss') if d.get('perturbLoss') is not None else None
    model = _model(c, d['model']) if 'model' in d else None
    data = _data(c, d['data']) if 'data' in d else None
    augment = c.string(d, 'augment', 'task', nonempty=False)
    if augment is not None:
        from .augment import parse_augment
        try:
            parse_augment(augment)
        except ValueError as e:
            c.err('task.augment', str(e))
    train = _train(c, d['train']) if 'train' in d else None
    device = c.string(d, 'device', 'task')
    if device is not None and not DEVICE_RE.match(device):
        c.err('task.device', "must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got %s" % _show(device))
    precision = c.string(d, 'precision', 'task', PRECISIONS)
    if perturb is not None and train is not None and train.sam is None:
        c.err('task.perturbLoss', 'needs task.train.sam (the perturbation loss is what SAM perturbs the weights with)')
    channels_last = c.boolean(d, 'channelsLast', 'task')
    comp = c.boolean(d, 'compile', 'task')
    threads = c.num(d, 'threads', 'task', lo=1, integer=True)
    step_every = c.num(d, 'stepEvery', 'task', lo=0, integer=True)
    if c.errors:
        raise RunnerError('bad-task', '; '.join(c.errors))
    return Task(version=d['version'], loss=loss, model=model, data=data, augment=augment, train=train,
                device=device, precision=precision, perturbLoss=perturb, channelsLast=channels_last,
                compile=comp, threads=threads, stepEvery=step_every)


# ---------------------------------------------------------------- segmentation tasks

SEG_TASK_KIND = 'segmentation'
SEG_DATA_KINDS = ('seg-tensors',)
SEG_MODEL_KINDS = ('unet',)


@dataclass
class SegModelSpec:
    kind: str
    filters: int


@dataclass
class SegDataSpec:
    kind: str
    path: str


@dataclass
class SegTrainSpec:
    lr: float
    batchSize: int
    epochs: int
    seed: int
    stepsPerEpoch: Optional[int] = None


@dataclass
class SegTask:
    """protocol/torch-task.ts TorchSegTask."""
    version: int
    kind: str
    loss: LossSpec
    model: SegModelSpec
    data: SegDataSpec
    train: SegTrainSpec
    device: str
    precision: str
    channelsLast: Optional[bool] = None
    compile: Optional[bool] = None
    threads: Optional[int] = None
    stepEvery: Optional[int] = None


def parse_seg_task(obj: Any) -> SegTask:
    """Validates a decoded TorchSegTask (as parse_task does a TorchTask); raises RunnerError('bad-task')."""
    c = _Checker()
    known = tuple(f.name for f in fields(SegTask))
    required = ('version', 'kind', 'loss', 'model', 'data', 'train', 'device', 'precision')
    d = c.obj(obj, 'task', known, required)
    if d is None:
        raise RunnerError('bad-task', 'task: ' + c.errors[0].split(': ', 1)[1] + '; send one JSON object per task (protocol/torch-task.ts)')
    if 'version' in d and d['version'] != TORCH_TASK_VERSION:
        c.err('task.version', 'must be %d, got %s (the Node side and the runner are from different Lossmith versions: reinstall them together)'
              % (TORCH_TASK_VERSION, _show(d['version'])))
    c.string(d, 'kind', 'task', (SEG_TASK_KIND,))
    loss = _loss(c, d['loss'], 'task.loss') if 'loss' in d else None
    model = None
    m = c.obj(d['model'], 'task.model', ('kind', 'filters'), ('kind', 'filters')) if 'model' in d else None
    if m is not None:
        mk = c.string(m, 'kind', 'task.model', SEG_MODEL_KINDS)
        filters = c.num(m, 'filters', 'task.model', lo=1, integer=True, required=True)
        if mk is not None and filters is not None:
            model = SegModelSpec(kind=mk, filters=filters)
    data = None
    dd = c.obj(d['data'], 'task.data', ('kind', 'path'), ('kind', 'path')) if 'data' in d else None
    if dd is not None:
        dk = c.string(dd, 'kind', 'task.data', SEG_DATA_KINDS)
        dp = c.string(dd, 'path', 'task.data')
        if dk is not None and dp is not None:
            data = SegDataSpec(kind=dk, path=dp)
    train = None
    t = c.obj(d['train'], 'task.train', ('lr', 'batchSize', 'epochs', 'stepsPerEpoch', 'seed'),
              ('lr', 'batchSize', 'epochs', 'seed')) if 'train' in d else None
    if t is not None:
        lr = c.num(t, 'lr', 'task.train', lo=0, lo_open=True, required=True)
        bs = c.num(t, 'batchSize', 'task.train', lo=1, integer=True, required=True)
        epochs = c.num(t, 'epochs', 'task.train', lo=0, integer=True, required=True)
        spe = c.num(t, 'stepsPerEpoch', 'task.train', lo=1, integer=True)
        seed = c.num(t, 'seed', 'task.train', integer=True, required=True)
        if None not in (lr, bs, epochs, seed):
            train = SegTrainSpec(lr=lr, batchSize=bs, epochs=epochs, seed=seed, stepsPerEpoch=spe)
    device = c.string(d, 'device', 'task')
    if device is not None and not DEVICE_RE.match(device):
        c.err('task.device', "must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got %s" % _show(device))
    precision = c.string(d, 'precision', 'task', PRECISIONS)
    channels_last = c.boolean(d, 'channelsLast', 'task')
    comp = c.boolean(d, 'compile', 'task')
    threads = c.num(d, 'threads', 'task', lo=1, integer=True)
    step_every = c.num(d, 'stepEvery', 'task', lo=0, integer=True)
    if c.errors:
        raise RunnerError('bad-task', '; '.join(c.errors))
    return SegTask(version=d['version'], kind=d['kind'], loss=loss, model=model, data=data, train=train, device=device,
                   precision=precision, channelsLast=channels_last, compile=comp, threads=threads, stepEvery=step_every)


# ---------------------------------------------------------------- GAN tasks

GAN_TASK_KIND = 'gan'
GAN_DATA_KINDS = ('tensors',)


@dataclass
class GanTrainSpec:
    """The GAN settings of the tfjs trainer (train-gan.ts) and the training's length."""
    zDim: int
    filters: int
    beta1: float
    beta2: float
    lr: float
    batchSize: int
    epochs: int
    stepsPerEpoch: int
    seed: int
    samplesPerClass: int
    clip: Optional[float] = None


@dataclass
class GanDataSpec:
    kind: str
    path: str


@dataclass
class GanTask:
    """protocol/torch-task.ts TorchGanTask."""
    version: int
    kind: str
    gLoss: LossSpec
    dLoss: LossSpec
    data: GanDataSpec
    train: GanTrainSpec
    device: str
    precision: str
    threads: Optional[int] = None
    stepEvery: Optional[int] = None


def parse_gan_task(obj: Any) -> GanTask:
    """Validates a decoded TorchGanTask; raises RunnerError('bad-task')."""
    c = _Checker()
    known = tuple(f.name for f in fields(GanTask))
    required = ('version', 'kind', 'gLoss', 'dLoss', 'data', 'train', 'device', 'precision')
    d = c.obj(obj, 'task', known, required)
    if d is None:
        raise RunnerError('bad-task', 'task: ' + c.errors[0].split(': ', 1)[1] + '; send one JSON object per task (protocol/torch-task.ts)')
    if 'version' in d and d['version'] != TORCH_TASK_VERSION:
        c.err('task.version', 'must be %d, got %s (the Node side and the runner are from different Lossmith versions: reinstall them together)'
              % (TORCH_TASK_VERSION, _show(d['version'])))
    c.string(d, 'kind', 'task', (GAN_TASK_KIND,))
    g_loss = _loss(c, d['gLoss'], 'task.gLoss') if 'gLoss' in d else None
    d_loss = _loss(c, d['dLoss'], 'task.dLoss') if 'dLoss' in d else None
    data = None
    dd = c.obj(d['data'], 'task.data', ('kind', 'path'), ('kind', 'path')) if 'data' in d else None
    if dd is not None:
        dk = c.string(dd, 'kind', 'task.data', GAN_DATA_KINDS)
        dp = c.string(dd, 'path', 'task.data')
        if dk is not None and dp is not None:
            data = GanDataSpec(kind=dk, path=dp)
    train = None
    tk = ('zDim', 'filters', 'beta1', 'beta2', 'lr', 'batchSize', 'epochs', 'stepsPerEpoch', 'seed', 'samplesPerClass', 'clip')
    t = c.obj(d['train'], 'task.train', tk, tk[:-1]) if 'train' in d else None
    if t is not None:
        p = 'task.train'
        v = dict(
            zDim=c.num(t, 'zDim', p, lo=1, integer=True, required=True),
            filters=c.num(t, 'filters', p, lo=1, integer=True, required=True),
            beta1=c.num(t, 'beta1', p, lo=0, hi=1, hi_open=True, required=True),
            beta2=c.num(t, 'beta2', p, lo=0, hi=1, hi_open=True, required=True),
            lr=c.num(t, 'lr', p, lo=0, lo_open=True, required=True),
            batchSize=c.num(t, 'batchSize', p, lo=1, integer=True, required=True),
            epochs=c.num(t, 'epochs', p, lo=0, integer=True, required=True),
            stepsPerEpoch=c.num(t, 'stepsPerEpoch', p, lo=1, integer=True, required=True),
            seed=c.num(t, 'seed', p, integer=True, required=True),
            samplesPerClass=c.num(t, 'samplesPerClass', p, lo=1, integer=True, required=True),
        )
        clip = c.num(t, 'clip', p, lo=0, lo_open=True)
        if None not in v.values():
            train = GanTrainSpec(clip=clip, **v)
    device = c.string(d, 'device', 'task')
    if device is not None and not DEVICE_RE.match(device):
        c.err('task.device', "must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got %s" % _show(device))
    precision = c.string(d, 'precision', 'task', PRECISIONS)
    threads = c.num(d, 'threads', 'task', lo=1, integer=True)
    step_every = c.num(d, 'stepEvery', 'task', lo=0, integer=True)
    if c.errors:
        raise RunnerError('bad-task', '; '.join(c.errors))
    return GanTask(version=d['version'], kind=d['kind'], gLoss=g_loss, dLoss=d_loss, data=data, train=train, device=device,
                   precision=precision, threads=threads, stepEvery=step_every)


def is_gan_task(obj: Any) -> bool:
    """Whether a decoded task is a GAN task (kind 'gan')."""
    return isinstance(obj, GanTask) or (isinstance(obj, dict) and obj.get('kind') == GAN_TASK_KIND)


def is_seg_task(obj: Any) -> bool:
    """Whether a decoded task is a segmentation task (its `kind`); a TorchTask has no kind."""
    return isinstance(obj, SegTask) or (isinstance(obj, dict) and 'kind' in obj and obj['kind'] != GAN_TASK_KIND)


def parse_any_task(obj: Any):
    """A Task, a SegTask or a GanTask, by the object's `kind` (absent: a classification Task)."""
    if isinstance(obj, dict) and 'kind' in obj and obj['kind'] not in (SEG_TASK_KIND, GAN_TASK_KIND):
        raise RunnerError('bad-task', "task.kind: must be %r, %r or absent (a classification task), got %s"
                          % (SEG_TASK_KIND, GAN_TASK_KIND, _show(obj['kind'])))
    if is_gan_task(obj):
        return parse_gan_task(obj)
    return parse_seg_task(obj) if is_seg_task(obj) else parse_task(obj)


def task_to_dict(task: Any) -> Any:
    """The JSON form of a Task (or of any part of it); absent optional fields are left out."""
    if hasattr(task, '__dataclass_fields__'):
        out = {}
        for f in fields(task):
            v = getattr(task, f.name)
            if v is not None:
                out[f.name] = task_to_dict(v)
        return out
    if isinstance(task, list):
        return [task_to_dict(v) for v in task]
    if isinstance(task, dict):
        return {k: task_to_dict(v) for k, v in task.items()}
    return task
