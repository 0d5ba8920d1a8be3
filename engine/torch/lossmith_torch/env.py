"""What torch offers here: version check, device and precision resolution, the `info` record.

Device rules (task.device): 'auto' = cuda if available, else mps, else cpu. Asking for a
device that is not there is an error (code 'device-unavailable') naming what torch reports
and what to check, never a silent fall-back to the CPU.

Precision rules (task.precision): 'auto' = bf16 on CUDA GPUs that support it (compute
capability 8.0+), else fp32; 'bf16' also runs on the CPU (autocast); 'fp16' needs CUDA (with
a GradScaler); MPS runs fp32.
"""
import os
import platform
import shutil
import sys
import warnings
from typing import Optional, Tuple

from .errors import RunnerError

MIN_TORCH = (1, 13)


def version_tuple(v: str) -> Tuple[int, int]:
    parts = []
    for piece in v.split('+')[0].split('.')[:2]:
        digits = ''
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits or 0))
    while len(parts) < 2:
        parts.append(0)
    return parts[0], parts[1]


def import_torch():
    """torch, or RunnerError('torch-too-old') when it is missing or older than 1.13."""
    try:
        import torch
    except Exception as e:
        raise RunnerError('torch-too-old', 'torch cannot be imported by %s (%s: %s); install it with `%s -m pip install torch` '
                          '(or point Lossmith at a Python that has it)' % (sys.executable, type(e).__name__, e, sys.executable))
    if version_tuple(torch.__version__) < MIN_TORCH:
        raise RunnerError('torch-too-old', 'torch %s is too old: the runner needs torch >= %d.%d; upgrade it with `%s -m pip install -U torch`'
                          % (torch.__version__, MIN_TORCH[0], MIN_TORCH[1], sys.executable))
    return torch


def torchvision_version() -> Optional[str]:
    try:
        import torchvision
        return torchvision.__version__
    except Exception:
        return None


def mps_available(torch) -> bool:
    try:
        return bool(torch.backends.mps.is_available())
    except Exception:
        return False


def cuda_reason(torch) -> Optional[str]:
    """Why CUDA is unusable, in words (None when it is usable)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        try:
            ok = torch.cuda.is_available()
        except Exception as e:  # pragma: no cover - defensive
            ok = False
            caught.append(warnings.WarningMessage(str(e), RuntimeWarning, '', 0))
    if ok:
        return None
    if not torch.version.cuda:
        return ('this torch %s is a CPU-only build (torch.version.cuda is None); install a CUDA build of torch '
                '(https://pytorch.org/get-started/locally/)' % torch.__version__)
    said = ' '.join(str(w.message).split()) if caught else ''
    smi = shutil.which('nvidia-smi')
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    parts = ['torch %s (built with CUDA %s) sees no usable GPU' % (torch.__version__, torch.version.cuda)]
    if said:
        parts.append('torch says: %s' % said[:300])
    if visible is not None:
        parts.append('CUDA_VISIBLE_DEVICES=%r' % visible)
    parts.append('check the NVIDIA driver with `nvidia-smi`' + ('' if smi else ' (nvidia-smi is not on PATH: the driver may not be installed)'))
    return '; '.join(parts)


def resolve_device(torch, asked: str):
    if asked == 'cpu':
        return torch.device('cpu')
    if asked == 'auto':
        if torch.cuda.is_available():
            return torch.device('cuda', torch.cuda.current_device())
        if mps_available(torch):
            return torch.device('mps')
        return torch.device('cpu')
    if asked.startswith('cuda'):
        reason = cuda_reason(torch)
        if reason is not None:
            raise RunnerError('device-unavailable', "device '%s' asked but torch.cuda.is_available() is False: %s; or pass --device cpu" % (asked, reason))
        idx = int(asked.split(':')[1]) if ':' in asked else torch.cuda.current_device()
        count = torch.cuda.device_count()
        if idx >= count:
            raise RunnerError('device-unavailable', "device '%s' asked but torch sees %d CUDA device%s (cuda:0..cuda:%d); pick one of those or check CUDA_VISIBLE_DEVICES%s"
                              % (asked, count, '' if count == 1 else 's', count - 1,
                                 ' (now %r)' % os.environ['CUDA_VISIBLE_DEVICES'] if 'CUDA_VISIBLE_DEVICES' in os.environ else ''))
        return torch.device('cuda', idx)
    if asked == 'mps':
        if not mps_available(torch):
            built = False
            try:
                built = bool(torch.backends.mps.is_built())
            except Exception:
                pass
            why = ('this torch is built with MPS but macOS reports no usable Metal device (MPS needs macOS 12.3+ on Apple silicon or an AMD GPU)'
                   if built else 'this torch %s has no MPS support (MPS is for Apple silicon Macs, torch built for macOS)' % torch.__version__)
            raise RunnerError('device-unavailable', "device 'mps' asked but torch.backends.mps.is_available() is False: %s; pass --device cpu (or cuda)" % why)
        return torch.device('mps')
    raise RunnerError('bad-task', 'task.device: %r is not a device' % asked)


def bf16_supported(torch, device) -> bool:
    if device.type != 'cuda':
        return False
    try:
        major, _ = torch.cuda.get_device_capability(device)
        return major >= 8 and bool(torch.cuda.is_bf16_supported())
    except Exception:
        return False


def resolve_precision(torch, asked: str, device) -> str:
    if asked == 'auto':
        return 'bf16' if bf16_supported(torch, device) else 'fp32'
    if asked == 'fp32':
        return 'fp32'
    if device.type == 'mps':
        raise RunnerError('bad-task', "task.precision: %s is not supported on mps by this runner; pass --precision fp32 (or auto)" % asked)
    if asked == 'fp16' and device.type != 'cuda':
        raise RunnerError('bad-task', 'task.precision: fp16 needs a CUDA device (it trains with a GradScaler); on %s pass --precision bf16 or fp32' % device.type)
    if asked == 'bf16' and device.type == 'cuda' and not bf16_supported(torch, device):
        cap = torch.cuda.get_device_capability(device)
        raise RunnerError('device-unavailable', 'bf16 asked but %s (compute capability %d.%d) does not support it (needs 8.0+, e.g. A100, H100, RTX 30xx); pass --precision fp16 or fp32'
                          % (torch.cuda.get_device_name(device), cap[0], cap[1]))
    return asked


def device_name(torch, device) -> str:
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    if device.type == 'mps':
        return 'Apple MPS (%s)' % platform.machine()
    n = torch.get_num_threads()
    return '%s, %d thread%s' % (cpu_model(), n, '' if n == 1 else 's')


def cpu_model() -> str:
    """The processor's name (Linux: /proc/cpuinfo), else what platform says, else 'CPU'."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return ' '.join(line.split(':', 1)[1].split())
    except OSError:
        pass
    return platform.processor() or 'CPU'


def cudnn_version(torch) -> Optional[int]:
    try:
        v = torch.backends.cudnn.version()
        return int(v) if v is not None else None
    except Exception:
        return None


def info_record(torch, device, precision: str, compiled: bool, channels_last: bool) -> dict:
    return {
        'engine': 'torch',
        'python': platform.python_version(),
        'executable': sys.executable,
        'torch': torch.__version__,
        'torchvision': torchvision_version(),
        'cuda': torch.version.cuda,
        'cudnn': cudnn_version(torch),
        'device': str(device) if device.type != 'cuda' else 'cuda:%d' % (device.index or 0),
        'deviceName': device_name(torch, device),
        'precision': precision,
        'compile': compiled,
        'channelsLast': channels_last,
        'threads': torch.get_num_threads(),
        'pid': os.getpid(),
    }
