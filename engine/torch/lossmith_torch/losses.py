"""Loading the loss modules the PyTorch exporter emits (grammar/src/export/pytorch.ts).

A task carries the module's source and the function's name: `fn(logits, target, *, **params)`
returns the per-sample loss [N]. The source is written to a file in a private temporary
folder and imported with importlib (it is the exporter's output, run exactly as a user would
import it; nothing else is executed). Modules are cached by their source in serve mode.

`make_loss` checks the function once on a tiny batch (right shape, finite for a confident
correct prediction is not required: only the shape and that it runs) so that a broken module
fails before training with code 'loss' and a message naming the problem.

The trainer always passes the target as a float distribution [N, C] (one-hot or soft) and the
logits as float32 (autocast is switched off around the call), and averages over the batch.
"""
import hashlib
import importlib.util
import os
import shutil
import tempfile
import traceback
from typing import Callable, Dict, Optional

import torch

from .errors import RunnerError, first_line, is_oom
from .task import LossSpec

_dir: Optional[str] = None
_modules: Dict[str, object] = {}


def _tempdir() -> str:
    global _dir
    if _dir is None or not os.path.isdir(_dir):
        _dir = tempfile.mkdtemp(prefix='lossmith-torch-')
        import atexit
        atexit.register(cleanup)
    return _dir


def cleanup() -> None:
    """Removes the folder of the loss modules (at exit, on SIGTERM, when the parent is gone)."""
    if _dir is not None:
        shutil.rmtree(_dir, True)


def load_module(source: str, what: str):
    digest = hashlib.sha256(source.encode('utf-8')).hexdigest()[:16]
    mod = _modules.get(digest)
    if mod is not None:
        return mod
    name = 'lossmith_loss_%s' % digest
    path = os.path.join(_tempdir(), name + '.py')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(source)
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    except SyntaxError as e:
        raise RunnerError('loss', '%s module does not compile: %s (line %s of the module); export it again with `lossmith export FILE --to pytorch`'
                          % (what, e.msg, e.lineno), traceback.format_exc())
    except Exception as e:
        raise RunnerError('loss', '%s module fails to import: %s: %s; export it again with `lossmith export FILE --to pytorch`'
                          % (what, type(e).__name__, first_line(e)), traceback.format_exc())
    _modules[digest] = mod
    return mod


def make_loss(spec: LossSpec, num_classes: int, what: str = 'task.loss') -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A function (logits [N,C] float32, target [N,C]) -> per-sample loss [N], checked once."""
    mod = load_module(spec.module, what)
    fn = getattr(mod, spec.fn, None)
    if fn is None or not callable(fn):
        names = [n for n in dir(mod) if not n.startswith('_') and callable(getattr(mod, n)) and getattr(getattr(mod, n), '__module__', None) == mod.__name__]
        raise RunnerError('loss', '%s.fn: the module defines no function %r (it defines: %s); pass the exported function\'s name'
                          % (what, spec.fn, ', '.join(names) or 'none'))
    params = dict(spec.params or {})

    def loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return fn(logits, target, **params)

    # One call on a tiny batch: runs, returns [N].
    logits = torch.tensor([[2.0] + [0.0] * (num_classes - 1), [0.0] * num_classes])
    target = torch.zeros(2, num_classes)
    target[0, 0] = 1
    target[1, num_classes - 1] = 1
    try:
        out = loss(logits, target)
    except TypeError as e:
        raise RunnerError('loss', '%s: calling %s(logits, target%s) failed: %s; check %s.params against the function\'s keyword arguments'
                          % (what, spec.fn, ''.join(', %s=%g' % kv for kv in params.items()), first_line(e), what), traceback.format_exc())
    except Exception as e:
        raise RunnerError('loss', '%s: %s(logits, target) raised %s: %s; check the exported module'
                          % (what, spec.fn, type(e).__name__, first_line(e)), traceback.format_exc())
    check_output(out, 2, spec.fn, what)
    return loss


def check_output(out, n: int, fn: str, what: str) -> None:
    if not torch.is_tensor(out) or tuple(out.shape) != (n,):
        got = 'shape %s' % list(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise RunnerError('loss', '%s: %s must return the per-sample loss of shape [N] = [%d], got %s; export the loss again (it must reduce over classes, not over the batch)'
                          % (what, fn, n, got))


def call_loss(loss, logits: torch.Tensor, target: torch.Tensor, fn: str, what: str) -> torch.Tensor:
    """Per-sample loss in float32 (autocast off), with errors turned into code 'loss'."""
    try:
        if logits.is_cuda or logits.device.type == 'cpu':
            with torch.autocast(device_type=logits.device.type, enabled=False):
                out = loss(logits.float(), target)
        else:
            out = loss(logits.float(), target)
    except RunnerError:
        raise
    except Exception as e:
        if is_oom(e):
            raise
        raise RunnerError('loss', '%s: %s raised %s during training: %s; check the exported module'
                          % (what, fn, type(e).__name__, first_line(e)), traceback.format_exc())
    if out.dim() != 1 or out.shape[0] != logits.shape[0]:
        check_output(out, logits.shape[0], fn, what)
    return out
