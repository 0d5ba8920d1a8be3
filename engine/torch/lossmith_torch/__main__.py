"""Command line of the runner (protocol/torch-task.ts).

    python3 -m lossmith_torch TASK.json   one task (TorchTask, TorchSegTask: kind 'segmentation',
                                          or TorchGanTask: kind 'gan');
                                          exit 0 after a result, 2 after an error
    python3 -m lossmith_torch --serve     one task JSON per stdin line, answered in turn; exit 0 at EOF
    python3 -m lossmith_torch --probe     one TorchProbe line; exit 0 (also without torch)

Stdout carries only JSON lines (TorchMessage), each flushed as written; anything else a
library or a loss module prints goes to stderr (file descriptor 1 is pointed there, the
messages keep a duplicate of the original).
Every failure is one `error` line with a one-line message (the traceback, if any, in
`detail`). SIGTERM ends the process at once; in serve mode end of input ends it too, and a
closed stdout (the parent is gone) ends it at the next message.
"""
import gc
import json
import os
import signal
import sys

USAGE = __doc__.split('\n\n')[1]


def _clean(v):
    if isinstance(v, float):
        return v if v == v and v not in (float('inf'), float('-inf')) else None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


class Emitter:
    """Writes protocol messages as JSON lines to the real stdout."""

    def __init__(self, stream):
        self.stream = stream

    def __call__(self, msg: dict) -> None:
        line = json.dumps(_clean(msg), allow_nan=False, separators=(',', ':'))
        try:
            self.stream.write(line + '\n')
            self.stream.flush()
        except (BrokenPipeError, ValueError):  # the reader is gone: nobody to work for
            os._exit(1)


def _error(emit, e) -> None:
    from .errors import classify
    emit(classify(e).to_json())


def run_one(task_obj, emit, cache=None) -> bool:
    """Runs one task; True after a result, False after an error (already emitted)."""
    try:
        from .env import import_torch
        import_torch()
        from .task import is_gan_task, is_seg_task, parse_any_task
        if is_gan_task(task_obj):
            from .gan import run_gan_task
            run_gan_task(parse_any_task(task_obj), emit)
        elif is_seg_task(task_obj):
            from .seg import run_seg_task
            run_seg_task(parse_any_task(task_obj), emit)  # a wrong kind is a bad-task error
        else:
            from .train import run_task
            run_task(task_obj, emit, cache)
        return True
    except Exception as e:
        _error(emit, e)
        return False


def _parse_json(text: str, where: str):
    from .errors import RunnerError
    try:
        return json.loads(text)
    except ValueError as e:
        raise RunnerError('bad-task', '%s is not valid JSON (%s); send one TorchTask object (protocol/torch-task.ts)' % (where, e))


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    real_stdout = sys.stdout
    emit = Emitter(real_stdout)
    def on_term(*_):
        # Our own temporary files (the loss modules) go first; then out, without waiting for the training.
        from . import losses
        losses.cleanup()
        os._exit(143)
    signal.signal(signal.SIGTERM, on_term)
    if argv in (['-h'], ['--help']):
        real_stdout.write(USAGE.strip('\n') + '\n')
        return 0
    if argv == ['--probe']:
        from .probe import probe
        emit(probe())
        return 0
    # Stray output must not corrupt the protocol: the messages keep the original stdout (a
    # duplicate of fd 1), and fd 1 itself, Python's and C's, now goes to stderr.
    try:
        sys.stdout.flush()
        proto = os.fdopen(os.dup(1), 'w', encoding='utf-8', buffering=1)
        os.dup2(2, 1)
        emit = Emitter(proto)
    except (OSError, ValueError, AttributeError):  # no real fd 1 (embedded use): Python-level only
        pass
    sys.stdout = sys.stderr
    try:
        if argv == ['--serve']:
            return serve(emit)
        if len(argv) == 1 and not argv[0].startswith('--'):
            from .errors import RunnerError
            path = argv[0]
            try:
                if path == '-':
                    text = sys.stdin.read()
                else:
                    with open(path, 'r', encoding='utf-8') as f:
                        text = f.read()
                task = _parse_json(text, 'task file %s' % path)
            except OSError as e:
                _error(emit, RunnerError('bad-task', 'task file %s cannot be read (%s); pass the path of a task JSON file' % (path, e.strerror or e)))
                return 2
            except Exception as e:
                _error(emit, e)
                return 2
            return 0 if run_one(task, emit) else 2
        sys.stderr.write('usage:\n' + USAGE.strip('\n') + '\n')
        return 64
    except KeyboardInterrupt:
        return 130
    finally:
        sys.stdout = real_stdout


def watch_parent(interval: float = 0.5) -> None:
    """Exit at once when the process that started us is gone (it was killed: SIGKILL leaves no
    chance to stop us), so a cancelled or crashed run never leaves a training on the GPU."""
    import os
    import threading
    import time
    parent = os.getppid()

    def loop() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                from . import losses
                losses.cleanup()
                os._exit(1)

    threading.Thread(target=loop, name='lossmith-parent-watch', daemon=True).start()


def serve(emit) -> int:
    """One task per line on stdin; the data cache lives across tasks."""
    watch_parent()
    cache = None
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0
        if not line.strip():
            continue
        try:
            task = _parse_json(line, 'task line')
        except Exception as e:
            _error(emit, e)
            continue
        if cache is None:
            try:
                from .env import import_torch
                import_torch()
                from .data import DataCache
                cache = DataCache(keep=2)
            except Exception as e:
                _error(emit, e)
                continue
        run_one(task, emit, cache)
        gc.collect()  # the finished task's model and optimiser (and an error's traceback frames)
        torch = sys.modules.get('torch')
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.empty_cache()


if __name__ == '__main__':
    sys.exit(main())
