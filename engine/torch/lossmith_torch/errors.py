"""The runner's errors: every failure becomes one `{"type": "error", "code", "message",
"detail"?}` line (protocol/torch-task.ts, TorchErrorCode). `message` is one line that names
the cause and the fix; a traceback, when there is one, goes to `detail`, never bare to stdout.

Code raises `RunnerError(code, message)` where it knows what went wrong; `classify` turns any
other exception into the right code (CUDA/MPS out-of-memory) or 'internal'.
"""
import traceback
from typing import Optional

CODES = ('bad-task', 'torch-too-old', 'no-torchvision', 'device-unavailable', 'out-of-memory',
         'checkpoint', 'dataset', 'loss', 'internal')


class RunnerError(Exception):
    """An error with a protocol code and a one-line message (cause and fix)."""

    def __init__(self, code: str, message: str, detail: Optional[str] = None):
        assert code in CODES, code
        super().__init__(message)
        self.code = code
        self.message = one_line(message)
        self.detail = detail

    def to_json(self) -> dict:
        out = {'type': 'error', 'code': self.code, 'message': self.message}
        if self.detail:
            out['detail'] = self.detail
        return out


def one_line(s: str) -> str:
    return ' '.join(str(s).split())


def first_line(s: str, limit: int = 300) -> str:
    text = str(s).strip().splitlines()
    line = text[0] if text else ''
    return line if len(line) <= limit else line[:limit - 3] + '...'


def is_oom(e: BaseException) -> bool:
    try:
        import torch
        oom_type = getattr(torch.cuda, 'OutOfMemoryError', None)
        if oom_type is not None and isinstance(e, oom_type):
            return True
    except Exception:  # torch missing or broken: cannot be an OOM
        pass
    msg = str(e)
    return isinstance(e, RuntimeError) and ('out of memory' in msg or 'MPS backend out of memory' in msg)


def classify(e: BaseException, context: Optional[dict] = None) -> RunnerError:
    """Maps an exception to a RunnerError (RunnerErrors pass through)."""
    if isinstance(e, RunnerError):
        return e
    tb = ''.join(traceback.format_exception(type(e), e, e.__traceback__))
    ctx = context or {}
    if is_oom(e):
        where = ctx.get('device', 'the device')
        bs = ctx.get('batchSize')
        return RunnerError(
            'out-of-memory',
            'out of memory on %s%s: %s; pass a smaller --batch-size (or fewer --workers sharing the GPU), '
            'a smaller model, or --precision bf16' % (where, ' at batch size %d' % bs if bs else '', first_line(e, 160)),
            tb)
    return RunnerError('internal', 'internal error: %s: %s; this is a bug in the torch runner, please report it with the detail'
                       % (type(e).__name__, first_line(e)), tb)
