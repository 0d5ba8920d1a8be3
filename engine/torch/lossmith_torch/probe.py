"""`python3 -m lossmith_torch --probe`: one JSON line (TorchProbe in protocol/torch-task.ts)
describing the Python, torch, CUDA and GPUs found. It never fails: when torch is missing or
too old the line says so in `error` (and the fields it could not fill are null/false).
Imports only the standard library at module level.
"""
import platform
import sys


def probe() -> dict:
    out = {
        'python': platform.python_version(),
        'executable': sys.executable,
        'torch': None,
        'torchvision': None,
        'cuda': None,
        'cudnn': None,
        'cudaAvailable': False,
        'mps': False,
        'bf16': False,
        'compile': False,
        'gpus': [],
    }
    try:
        import torch
    except Exception as e:
        out['error'] = ('torch cannot be imported by %s (%s: %s); install it with `%s -m pip install torch`'
                        % (sys.executable, type(e).__name__, ' '.join(str(e).split()), sys.executable))
        return out
    from . import env
    out['torch'] = str(getattr(torch, '__version__', '0'))
    if env.version_tuple(out['torch']) < env.MIN_TORCH:
        out['error'] = ('torch %s is too old: the runner needs torch >= %d.%d; upgrade it with `%s -m pip install -U torch`'
                        % (out['torch'], env.MIN_TORCH[0], env.MIN_TORCH[1], sys.executable))
        return out
    out['torchvision'] = env.torchvision_version()
    out['cuda'] = torch.version.cuda
    out['cudnn'] = env.cudnn_version(torch)
    out['compile'] = hasattr(torch, 'compile')
    out['mps'] = env.mps_available(torch)
    try:
        reason = env.cuda_reason(torch)
        out['cudaAvailable'] = reason is None
        if reason is not None and torch.version.cuda:
            out['cudaReason'] = reason
        if reason is None:
            gpus = []
            for i in range(torch.cuda.device_count()):
                p = torch.cuda.get_device_properties(i)
                gpus.append({'index': i, 'name': p.name, 'memoryGiB': round(p.total_memory / 2 ** 30, 2),
                             'capability': '%d.%d' % (p.major, p.minor)})
            out['gpus'] = gpus
            out['bf16'] = env.bf16_supported(torch, torch.device('cuda', torch.cuda.current_device()))
    except Exception as e:  # a broken driver must not break the probe
        out['cudaAvailable'] = False
        out['cudaReason'] = 'querying CUDA failed: %s: %s; check the NVIDIA driver with `nvidia-smi`' % (type(e).__name__, ' '.join(str(e).split()))
    return out
