"""GPU check: the runner's training speed against a plain hand-written PyTorch loop.

    python3 -m lossmith_torch.gpucheck                      # cuda, WRN-16-4 and WRN-28-10, batch 128
    python3 -m lossmith_torch.gpucheck --device cpu --steps 3   # smoke test: WRN-16-4, batch 8

Needs only torch. It writes a synthetic CIFAR-10 binary data set (random pixels plus a
class-dependent colour shift, so there is something to learn) into a temporary folder, then
for each model:

- runs the runner on it through `run_task`, the same code path as a task from the Node side
  (one epoch of warm-up + timed steps, no augmentation, Adam, bf16 + channels-last on CUDA),
  timing the steps after the warm-up with the runner's per-step hook;
- runs a plain loop with the same model class, the same data on the device, the same
  optimiser, autocast and memory format and F.cross_entropy, for the same number of steps,
  synchronising only at the end of the timed block;

and prints images/s for both and their ratio runner / plain (goal >= 0.9), the device and the
versions, as readable lines (stderr) and one final JSON line (stdout). Exit status 0 after a
measurement (1 with --strict when a ratio is under the goal), 2 on an error.
"""
import argparse
import json
import os
import sys
import tempfile
import time

GOAL = 0.9


def write_synthetic_cifar10(folder: str, per_file: int, test: int, seed: int = 0) -> None:
    import torch
    from .data import tensor_bytes
    g = torch.Generator().manual_seed(seed)
    os.makedirs(folder, exist_ok=True)
    shift = torch.randint(-60, 61, (10, 3), generator=g)  # a colour per class
    for name, n in [('data_batch_%d.bin' % i, per_file) for i in range(1, 6)] + [('test_batch.bin', test)]:
        labels = torch.randint(0, 10, (n,), generator=g)
        pix = torch.randint(0, 256, (n, 3, 1024), generator=g) + shift[labels][:, :, None]
        rec = torch.cat([labels[:, None], pix.clamp(0, 255).reshape(n, 3072)], 1).to(torch.uint8)
        with open(os.path.join(folder, name), 'wb') as f:
            f.write(tensor_bytes(rec))


def sync(device) -> None:
    import torch
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    elif device.type == 'mps' and hasattr(torch, 'mps'):
        torch.mps.synchronize()


class StepTimes:
    """Runner hook: the time at the end of every step."""

    def __init__(self):
        self.t = []

    def on_step_end(self, step, loss):
        self.t.append(time.perf_counter())

    def intervals(self, last: int):
        d = [b - a for a, b in zip(self.t[:-1], self.t[1:])]
        return d[-last:]


def plain_loop(setup, steps: int, warmup: int, seed: int = 0) -> float:
    """Seconds for `steps` plain training steps after `warmup` (one sync at each end)."""
    import torch
    import torch.nn.functional as F
    from .train import make_optimizer
    t = setup.task.train
    model = setup.net
    model.train()
    params = [p for p in setup.module.parameters() if p.requires_grad]
    opt = make_optimizer(t.optimizer, params, setup.device, t.lr if t.lr is not None else 1e-3)
    n = setup.n_train
    bs = min(t.batchSize or 128, n)
    g = torch.Generator().manual_seed(seed)
    start = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            sync(setup.device)
            start = time.perf_counter()
        idx = torch.randint(0, n, (bs,), generator=g)
        x, y = setup.data.gather('train', idx)
        x = setup.prepare(x)
        with setup.autocast():
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync(setup.device)
    return time.perf_counter() - start


def ce_module() -> str:
    """The PyTorch exporter's cross-entropy (examples/ce.py), or the same function inline."""
    here = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'examples', 'ce.py')
    if os.path.isfile(here):
        with open(here, encoding='utf-8') as f:
            return f.read()
    return ('import torch\nimport torch.nn.functional as F\n\n\ndef ce(logits, target):\n'
            '    return -torch.sum(target * F.log_softmax(logits, dim=-1), dim=-1)\n')


def make_task(data: str, kind: str, device: str, batch: int, steps: int, precision: str, optimizer: str) -> dict:
    return {
        'version': 1,
        'loss': {'module': ce_module(), 'fn': 'ce'},
        'model': {'kind': kind},
        'data': {'kind': 'cifar', 'path': data},
        'augment': 'none',
        'train': {'optimizer': {'kind': 'adam'} if optimizer == 'adam' else {'kind': 'sgd', 'momentum': 0.9, 'nesterov': True, 'weightDecay': 5e-4},
                  'lr': 1e-3 if optimizer == 'adam' else 0.05, 'batchSize': batch, 'epochs': 1, 'stepsPerEpoch': steps,
                  'seed': 1, 'maxVal': 256},
        'device': device,
        'precision': precision,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog='python3 -m lossmith_torch.gpucheck', description=__doc__.split('\n\n')[0])
    ap.add_argument('--device', default='cuda', help="cuda (default), cuda:N, cpu or mps")
    ap.add_argument('--steps', type=int, default=None, help='timed steps per model (default 40 on a GPU, 2 on the CPU)')
    ap.add_argument('--warmup', type=int, default=None, help='untimed steps first (default 10 on a GPU, 1 on the CPU)')
    ap.add_argument('--batch', type=int, default=None, help='batch size (default 128 on a GPU, 8 on the CPU)')
    ap.add_argument('--models', default=None, help='comma-separated (default wrn-16-4,wrn-28-10 on a GPU, wrn-16-4 on the CPU)')
    ap.add_argument('--precision', default=None, help='auto, bf16, fp16 or fp32 (default bf16 on CUDA, fp32 elsewhere)')
    ap.add_argument('--optimizer', default='adam', choices=('adam', 'sgd'))
    ap.add_argument('--strict', action='store_true', help='exit 1 when a ratio is under %.1f' % GOAL)
    args = ap.parse_args(argv)
    out = sys.stdout
    sys.stdout = sys.stderr
    try:
        import torch
        from . import env
        from .data import DataCache
        from .errors import classify
        from .task import parse_task
        from .train import Setup, run_task
    except Exception as e:
        out.write(json.dumps({'ok': False, 'error': 'cannot import torch / the runner: %s: %s' % (type(e).__name__, e)}) + '\n')
        return 2
    gpu = not args.device.startswith('cpu')
    steps = args.steps if args.steps is not None else (40 if gpu else 2)
    warmup = args.warmup if args.warmup is not None else (10 if gpu else 1)
    batch = args.batch if args.batch is not None else (128 if gpu else 8)
    models = (args.models or ('wrn-16-4,wrn-28-10' if gpu else 'wrn-16-4')).split(',')
    precision = args.precision or ('bf16' if args.device.startswith('cuda') else 'fp32')
    say = lambda s: sys.stderr.write(s + '\n')
    report = {'ok': True, 'goal': GOAL, 'torch': torch.__version__, 'cuda': torch.version.cuda, 'cudnn': env.cudnn_version(torch),
              'python': sys.version.split()[0], 'device': args.device, 'deviceName': None, 'precision': precision, 'results': []}
    try:
        with tempfile.TemporaryDirectory(prefix='lossmith-gpucheck-') as tmp:
            per_file = max(200, batch * 4) if gpu else max(20, batch * 2)
            write_synthetic_cifar10(tmp, per_file, 256 if gpu else 16)
            cache = DataCache(keep=1)
            for kind in models:
                task = make_task(tmp, kind, args.device, batch, warmup + steps, precision, args.optimizer)
                times = StepTimes()
                messages = []
                result = run_task(task, messages.append, cache=cache, hooks=times)
                info = messages[0]['info']
                report['deviceName'] = info['deviceName']
                iv = times.intervals(steps)
                runner_ips = len(iv) * batch / sum(iv) if iv else 0.0
                setup = Setup(parse_task(task), cache)
                plain_s = plain_loop(setup, steps, warmup)
                plain_ips = steps * batch / plain_s
                ratio = runner_ips / plain_ips if plain_ips else 0.0
                row = {'model': kind, 'batch': batch, 'steps': steps, 'warmup': warmup, 'runnerImagesPerSec': round(runner_ips, 1),
                       'plainImagesPerSec': round(plain_ips, 1), 'ratio': round(ratio, 3),
                       'runnerWholeRunImagesPerSec': round(result['imagesPerSec'], 1), 'precision': info['precision'],
                       'channelsLast': info['channelsLast'], 'status': result['status']}
                report['results'].append(row)
                say('%-10s batch %d, %d steps after %d warm-up: runner %.1f img/s, plain loop %.1f img/s, ratio %.3f (goal >= %.1f)%s'
                    % (kind, batch, steps, warmup, runner_ips, plain_ips, ratio, GOAL, '' if ratio >= GOAL else '  BELOW GOAL'))
                del setup
                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
        say('device %s (%s), torch %s, CUDA %s, cuDNN %s, python %s, precision %s'
            % (args.device, report['deviceName'], report['torch'], report['cuda'], report['cudnn'], report['python'], precision))
        report['ok'] = all(r['ratio'] >= GOAL for r in report['results'])
        out.write(json.dumps(report) + '\n')
        out.flush()
        return 1 if args.strict and not report['ok'] else 0
    except Exception as e:
        err = classify(e)
        say('gpu-check failed: [%s] %s' % (err.code, err.message))
        if err.detail:
            say(err.detail)
        report['ok'] = False
        report['error'] = err.to_json()
        out.write(json.dumps(report) + '\n')
        return 2
    finally:
        sys.stdout = out


if __name__ == '__main__':
    sys.exit(main())
