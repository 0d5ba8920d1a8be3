"""The networks, NCHW inside (MLP flattens), each returning logits.

Surrogates, as engine/src/models (index.ts, layers.ts), scaled by `width`:
- mlp: flatten, dense [256]*width with ReLU, dense to the classes;
- convnet (NLFS): conv12-BN-swish, conv24/2-BN-swish, conv48/2, global average pool,
  dropout 0.1, dense;
- resnet9 (NLFS ResNet9V2): stem conv8, two pre-activation blocks (BN-swish-conv/2,
  BN-swish-conv, BN-swish-conv) + conv1x1/2 shortcut to 16 and 32 filters, GAP, dropout 0.5,
  dense;
- lenet (LeNet-style, not a search surrogate): conv5x5-8-ReLU, maxpool 2, conv5x5-16-ReLU,
  maxpool 2, flatten in NHWC order (as tfjs flattens, so a dense weight means the same in
  both engines), dense 128-ReLU, dense.
They keep the tfjs details that change what is computed: Glorot-uniform kernels with Keras'
fans, zero biases, no bias on convolutions followed by BN, BN gamma 1 / beta 0 with Keras'
epsilon 1e-3 and momentum (`bnMomentum`, default 0.99; torch momentum = 1 - it), and
TensorFlow's 'same' padding, which pads a stride-2 convolution of an even-sized input only at
the bottom/right.

Research models, PyTorch-standard (symmetric padding, He-normal fan-out convolutions, BN
epsilon 1e-5, torch momentum 0.1 i.e. bnMomentum 0.9 unless given):
- wrn-16-4, wrn-28-10: Wide ResNet (Zagoruyko & Komodakis 2016), pre-activation basic blocks,
  CIFAR stem conv3x3-16, widths 16k/32k/64k, dropout 0;
- resnet18: the CIFAR ResNet-18 (3x3 stem, no max-pool, BasicBlocks [2,2,2,2], 64..512);
- torchvision: any constructor of torchvision.models by name, built without weights and with
  the dataset's class count; ImageNet mean/std normalisation is applied to its input (so
  ImageNet checkpoints given as `init` see what they were trained on).

All initial weights come from a CPU torch.Generator seeded from the task seed (torchvision's
own initialisers draw from the global generator, seeded the same way just for construction).
Dropout layers draw their masks from the generator in `model.lossmith_dropout` (seeded per
task), so SAM can replay the same masks on its second pass.
"""
import math
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .errors import RunnerError
from .task import ModelSpec

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class DropoutSource:
    """The generator dropout masks come from (shared by all SeededDropout layers of a model)."""

    def __init__(self):
        self.generator: Optional[torch.Generator] = None


class SeededDropout(nn.Module):
    """Inverted dropout whose mask comes from a given torch.Generator."""

    def __init__(self, rate: float, source: DropoutSource):
        super().__init__()
        self.rate = rate
        self.source = source

    def forward(self, x):
        if not self.training or self.rate <= 0:
            return x
        keep = 1 - self.rate
        g = self.source.generator
        if g is None:
            return F.dropout(x, self.rate, True)
        if g.device == x.device or (g.device.type == x.device.type == 'cuda' and (g.device.index or 0) == (x.device.index or 0)):
            mask = torch.empty_like(x).bernoulli_(keep, generator=g)
        else:
            mask = torch.empty(x.shape, dtype=x.dtype).bernoulli_(keep, generator=g).to(x.device)
        return x * mask / keep

    def extra_repr(self):
        return 'rate=%s' % self.rate


def _same_pad(size: int, k: int, s: int) -> Tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


class ConvSame(nn.Conv2d):
    """Conv2d with TensorFlow 'same' padding (asymmetric where TF pads asymmetrically)."""

    def __init__(self, cin, cout, k, stride=1, bias=True):
        super().__init__(cin, cout, k, stride=stride, padding=0, bias=bias)

    def forward(self, x):
        k, s = self.kernel_size[0], self.stride[0]
        ph = _same_pad(x.shape[-2], k, s)
        pw = _same_pad(x.shape[-1], k, s)
        if ph[0] == ph[1] and pw[0] == pw[1]:
            return F.conv2d(x, self.weight, self.bias, s, (ph[0], pw[0]))
        return F.conv2d(F.pad(x, (pw[0], pw[1], ph[0], ph[1])), self.weight, self.bias, s)


def _glorot_(w: torch.Tensor, fan_in: int, fan_out: int, g: torch.Generator) -> None:
    limit = math.sqrt(6 / (fan_in + fan_out))
    with torch.no_grad():
        w.uniform_(-limit, limit, generator=g)


def _keras_init(model: nn.Module, g: torch.Generator) -> None:
    """Glorot-uniform kernels with Keras' fans, zero biases, BN gamma 1 / beta 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1]
            _glorot_(m.weight, k * m.in_channels, k * m.out_channels, g)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            _glorot_(m.weight, m.in_features, m.out_features, g)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def _torch_init(model: nn.Module, g: torch.Generator) -> None:
    """He-normal (fan-out, ReLU) convolutions, BN 1/0, Linear U(+-1/sqrt(fan_in)) with zero bias."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1]
            with torch.no_grad():
                m.weight.normal_(0, math.sqrt(2.0 / fan_out), generator=g)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            bound = 1 / math.sqrt(m.in_features)
            with torch.no_grad():
                m.weight.uniform_(-bound, bound, generator=g)
            nn.init.zeros_(m.bias)


def _scaled(n: int, width: float) -> int:
    return max(1, int(math.floor(n * width + 0.5)))


def _bn(c: int, keras_momentum: float, eps: float) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=eps, momentum=1 - keras_momentum)


# ---------------------------------------------------------------- NLFS surrogates

class MLP(nn.Module):
    def __init__(self, in_dim: int, hidden: List[int], k: int):
        super().__init__()
        layers: List[nn.Module] = []
        cin = in_dim
        for h in hidden:
            layers += [nn.Linear(cin, h), nn.ReLU()]
            cin = h
        self.hidden = nn.Sequential(*layers)
        self.logits = nn.Linear(cin, k)

    def forward(self, x):
        return self.logits(self.hidden(x.flatten(1)))


class ConvNet(nn.Module):
    def __init__(self, cin: int, k: int, width: float, mom: float, drop: DropoutSource):
        super().__init__()
        f1, f2, f3 = (_scaled(f, width) for f in (12, 24, 48))
        self.conv1 = ConvSame(cin, f1, 3, bias=False)
        self.bn1 = _bn(f1, mom, 1e-3)
        self.conv2 = ConvSame(f1, f2, 3, stride=2, bias=False)
        self.bn2 = _bn(f2, mom, 1e-3)
        self.conv3 = ConvSame(f2, f3, 3, stride=2)
        self.dropout = SeededDropout(0.1, drop)
        self.logits = nn.Linear(f3, k)

    def forward(self, x):
        x = F.silu(self.bn1(self.conv1(x)))
        x = F.silu(self.bn2(self.conv2(x)))
        x = self.conv3(x).mean((2, 3))
        return self.logits(self.dropout(x))


class ResBlock9(nn.Module):
    def __init__(self, cin: int, f: int, mom: float):
        super().__init__()
        self.bn1 = _bn(cin, mom, 1e-3)
        self.conv1 = ConvSame(cin, f, 3, stride=2, bias=False)
        self.bn2 = _bn(f, mom, 1e-3)
        self.conv2 = ConvSame(f, f, 3, bias=False)
        self.bn3 = _bn(f, mom, 1e-3)
        self.conv3 = ConvSame(f, f, 3)
        self.shortcut = ConvSame(cin, f, 1, stride=2)

    def forward(self, x):
        h = self.conv1(F.silu(self.bn1(x)))
        h = self.conv2(F.silu(self.bn2(h)))
        h = self.conv3(F.silu(self.bn3(h)))
        return h + self.shortcut(x)


class ResNet9(nn.Module):
    def __init__(self, cin: int, k: int, width: float, mom: float, drop: DropoutSource):
        super().__init__()
        f0, f1, f2 = (_scaled(f, width) for f in (8, 16, 32))
        self.stem = ConvSame(cin, f0, 3, bias=False)
        self.block1 = ResBlock9(f0, f1, mom)
        self.block2 = ResBlock9(f1, f2, mom)
        self.dropout = SeededDropout(0.5, drop)
        self.logits = nn.Linear(f2, k)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        return self.logits(self.dropout(x.mean((2, 3))))


class LeNet(nn.Module):
    def __init__(self, h: int, w: int, cin: int, k: int, width: float):
        super().__init__()
        f1, f2, d = (_scaled(f, width) for f in (8, 16, 128))
        if h < 4 or w < 4:
            raise RunnerError('bad-task', "task.model: 'lenet' needs images of at least 4x4 pixels (got %dx%d)" % (h, w))
        self.conv1 = ConvSame(cin, f1, 5)
        self.conv2 = ConvSame(f1, f2, 5)
        self.dense = nn.Linear((h // 4) * (w // 4) * f2, d)
        self.logits = nn.Linear(d, k)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # 'valid': odd sizes floor, as tfjs
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.permute(0, 2, 3, 1).flatten(1)  # NHWC order, as tfjs
        return self.logits(F.relu(self.dense(x)))


# ---------------------------------------------------------------- research models

class WideBasic(nn.Module):
    """Pre-activation wide basic block (BN-ReLU-conv3x3, BN-ReLU-[dropout]-conv3x3)."""

    def __init__(self, cin: int, cout: int, stride: int, mom: float, drop_rate: float, drop: DropoutSource):
        super().__init__()
        self.bn1 = _bn(cin, mom, 1e-5)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = _bn(cout, mom, 1e-5)
        self.dropout = SeededDropout(drop_rate, drop) if drop_rate > 0 else None
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.equal = cin == cout and stride == 1
        self.shortcut = None if self.equal else nn.Conv2d(cin, cout, 1, stride, 0, bias=False)

    def forward(self, x):
        o = F.relu(self.bn1(x))
        h = self.conv1(o)
        h = F.relu(self.bn2(h))
        if self.dropout is not None:
            h = self.dropout(h)
        h = self.conv2(h)
        return h + (x if self.equal else self.shortcut(o))


class WideResNet(nn.Module):
    def __init__(self, depth: int, widen: int, cin: int, k: int, mom: float, drop: DropoutSource, drop_rate: float = 0.0):
        super().__init__()
        assert (depth - 4) % 6 == 0
        n = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(cin, widths[0], 3, 1, 1, bias=False)
        blocks = []
        cprev = widths[0]
        for stage, stride in ((1, 1), (2, 2), (3, 2)):
            for i in range(n):
                blocks.append(WideBasic(cprev, widths[stage], stride if i == 0 else 1, mom, drop_rate, drop))
                cprev = widths[stage]
        self.blocks = nn.Sequential(*blocks)
        self.bn = _bn(cprev, mom, 1e-5)
        self.fc = nn.Linear(cprev, k)

    def forward(self, x):
        x = self.blocks(self.conv1(x))
        x = F.relu(self.bn(x))
        return self.fc(x.mean((2, 3)))


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, mom: float):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = _bn(cout, mom, 1e-5)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = _bn(cout, mom, 1e-5)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), _bn(cout, mom, 1e-5))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + (x if self.shortcut is None else self.shortcut(x)))


class ResNet18(nn.Module):
    def __init__(self, cin: int, k: int, mom: float):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, 64, 3, 1, 1, bias=False)
        self.bn1 = _bn(64, mom, 1e-5)
        layers = []
        cprev = 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(cprev, cout, stride, mom), BasicBlock(cout, cout, 1, mom)]
            cprev = cout
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, k)

    def forward(self, x):
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(x.mean((2, 3)))


class Normalized(nn.Module):
    """(x - mean) / std in front of a network (grey images repeated to RGB first); the state
    dict stays the wrapped network's."""

    def __init__(self, net: nn.Module, mean, std, grey: bool = False):
        super().__init__()
        self.net = net
        self.grey = grey
        self.register_buffer('mean', torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std).view(1, -1, 1, 1), persistent=False)

    def forward(self, x):
        if self.grey:
            x = x.expand(-1, 3, -1, -1)
        return self.net((x - self.mean.to(x.dtype)) / self.std.to(x.dtype))


# ---------------------------------------------------------------- building

class Built:
    """A model and what the trainer needs to know about it."""

    def __init__(self, net: nn.Module, state: nn.Module, conv: bool, dropout: DropoutSource):
        self.net = net          # what is called (maybe with an input-normalising wrapper)
        self.state = state      # whose state_dict is saved / loaded (the network itself)
        self.conv = conv        # channels-last is worth it
        self.dropout = dropout


def import_torchvision():
    try:
        import torchvision  # noqa: F401
        return torchvision
    except Exception as e:  # ImportError or a broken install (e.g. mismatched torch)
        import sys
        raise RunnerError('no-torchvision', 'torchvision is needed (for torchvision models and imagefolder data) but cannot be imported '
                          '(%s: %s); install it for this Python with `%s -m pip install torchvision` (matching torch %s)'
                          % (type(e).__name__, str(e).splitlines()[0] if str(e) else '', sys.executable, torch.__version__))


def _torchvision_model(arch: str, k: int) -> nn.Module:
    tv = import_torchvision()
    ctor = getattr(tv.models, arch, None)
    if ctor is None or not callable(ctor) or arch.startswith('_') or isinstance(ctor, type(tv)):
        names = sorted(n for n in dir(tv.models) if not n.startswith('_') and n.islower() and callable(getattr(tv.models, n)) and not isinstance(getattr(tv.models, n), type(tv)))
        close = [n for n in names if arch.lower().replace('-', '_') in n][:8]
        raise RunnerError('bad-task', 'task.model.arch: torchvision %s has no model %r%s; pass a constructor name of torchvision.models, e.g. resnet50 or efficientnet_v2_s'
                          % (tv.__version__, arch, ' (did you mean: %s?)' % ', '.join(close) if close else ''))
    try:
        try:
            return ctor(weights=None, num_classes=k)
        except TypeError as e:
            if 'weights' not in str(e):
                raise
            return ctor(pretrained=False, num_classes=k)
    except RunnerError:
        raise
    except Exception as e:
        raise RunnerError('bad-task', 'task.model.arch: torchvision.models.%s(num_classes=%d) failed: %s: %s'
                          % (arch, k, type(e).__name__, str(e).splitlines()[0] if str(e) else ''))


def build_model(spec: ModelSpec, shape: Tuple[int, int, int], k: int, init_seed: int) -> Built:
    """The network for `spec` on images of shape (h, w, c) with k classes, on the CPU."""
    h, w, c = shape
    g = torch.Generator()
    g.manual_seed(init_seed)
    drop = DropoutSource()
    width = spec.width if spec.width is not None else 1.0
    kind = spec.kind
    if kind == 'mlp':
        hidden = [_scaled(x, width) for x in (spec.hidden or [256])]
        net = MLP(h * w * c, hidden, k)
        _keras_init(net, g)
        return Built(net, net, False, drop)
    if kind == 'lenet':
        net = LeNet(h, w, c, k, width)
        _keras_init(net, g)
        return Built(net, net, True, drop)
    if kind in ('convnet', 'resnet9'):
        mom = spec.bnMomentum if spec.bnMomentum is not None else 0.99
        net = (ConvNet if kind == 'convnet' else ResNet9)(c, k, width, mom, drop)
        _keras_init(net, g)
        return Built(net, net, True, drop)
    mom = spec.bnMomentum if spec.bnMomentum is not None else 0.9
    if kind in ('wrn-16-4', 'wrn-28-10'):
        depth, widen = (16, 4) if kind == 'wrn-16-4' else (28, 10)
        net = WideResNet(depth, widen, c, k, mom, drop)
        _torch_init(net, g)
        return Built(net, net, True, drop)
    if kind == 'resnet18':
        net = ResNet18(c, k, mom)
        _torch_init(net, g)
        return Built(net, net, True, drop)
    if kind == 'torchvision':
        state = torch.get_rng_state()
        torch.manual_seed(init_seed)
        try:
            net = _torchvision_model(spec.arch, k)
        finally:
            torch.set_rng_state(state)
        if spec.bnMomentum is not None:
            for m in net.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.momentum = 1 - spec.bnMomentum
        if c not in (1, 3):
            raise RunnerError('bad-task', 'task.model: torchvision models take RGB (or grey) images, this data set has %d channels; use a Lossmith model kind' % c)
        return Built(Normalized(net, IMAGENET_MEAN, IMAGENET_STD, grey=c == 1), net, True, drop)
    raise RunnerError('bad-task', 'task.model.kind: unknown model kind %r' % kind)


def head_names(state: nn.Module) -> List[str]:
    """State-dict keys of the classifier head (the last Linear layer)."""
    last = None
    for name, m in state.named_modules():
        if isinstance(m, nn.Linear):
            last = name
    if last is None:
        return []
    return [last + '.weight', last + '.bias']


def load_checkpoint(built: Built, path: str) -> List[str]:
    """Loads a state dict saved by torch.save into the network; a classifier head whose shape
    differs (another class count) keeps its fresh initialisation. Returns the keys skipped.
    Raises RunnerError('checkpoint') naming the file and the first key that does not fit."""
    import os
    fix = 'pass a state dict saved with torch.save(model.state_dict(), path) for this model kind'
    if not os.path.isfile(path):
        raise RunnerError('checkpoint', 'checkpoint file %s not found (task.model.init); %s' % (path, fix))
    try:
        try:
            obj = torch.load(path, map_location='cpu', weights_only=True)
        except TypeError:  # torch without weights_only
            obj = torch.load(path, map_location='cpu')
    except Exception as e:
        raise RunnerError('checkpoint', 'checkpoint %s cannot be read by torch.load (%s: %s); %s'
                          % (path, type(e).__name__, str(e).splitlines()[0] if str(e) else '', fix))
    sd = obj
    for key in ('state_dict', 'model_state_dict', 'model'):
        if isinstance(sd, dict) and isinstance(sd.get(key), dict):
            sd = sd[key]
            break
    if not isinstance(sd, dict) or not sd or not all(isinstance(k, str) and torch.is_tensor(v) for k, v in sd.items()):
        raise RunnerError('checkpoint', 'checkpoint %s is not a state dict (a mapping of parameter names to tensors; got %s); %s'
                          % (path, type(obj).__name__, fix))
    if all(k.startswith('module.') for k in sd):
        sd = {k[len('module.'):]: v for k, v in sd.items()}
    if all(k.startswith('_orig_mod.') for k in sd):
        sd = {k[len('_orig_mod.'):]: v for k, v in sd.items()}
    own = built.state.state_dict()
    head = set(head_names(built.state))
    skipped = []
    for key, target in own.items():
        if key not in sd:
            if key.endswith('num_batches_tracked'):
                continue
            raise RunnerError('checkpoint', 'checkpoint %s does not fit the model: key %r (shape %s) is missing from it (%d keys there, %d in the model); %s'
                              % (path, key, list(target.shape), len(sd), len(own), fix))
        if tuple(sd[key].shape) != tuple(target.shape):
            if key in head:
                skipped.append(key)
                continue
            raise RunnerError('checkpoint', 'checkpoint %s does not fit the model: key %r has shape %s there, %s in the model; %s'
                              % (path, key, list(sd[key].shape), list(target.shape), fix))
    extra = [k for k in sd if k not in own]
    if extra:
        raise RunnerError('checkpoint', 'checkpoint %s does not fit the model: key %r (shape %s) is not in the model; %s'
                          % (path, extra[0], list(sd[extra[0]].shape), fix))
    with torch.no_grad():
        for key, target in own.items():
            if key in sd and key not in skipped:
                target.copy_(sd[key].to(target.dtype))
    return skipped
