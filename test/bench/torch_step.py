"""Bench helper for the torch runner: median ms per training step of the runner's train()
against a plain hand-written PyTorch loop with the same model, data and optimiser.

    /usr/bin/python3 test/bench/torch_step.py TASK.json [--steps 20] [--warmup 5] [--rounds 3]

Both run in this process, alternating (runner, plain, runner, plain, ...), each round
`warmup` untimed steps then `steps` timed ones. The runner goes through `run_task` (the
task's own model, data, loss, augmentation, precision and device; epochs and stepsPerEpoch
are overridden) and its steps are timed with its per-step hook (the runner synchronises once
per step); the plain loop (lossmith_torch.gpucheck.plain_loop: the same Setup's model, data
on the device, optimiser, autocast and memory format, F.cross_entropy, no augmentation)
is timed as a block with one synchronisation at each end. Prints one JSON line:

    {"device", "deviceName", "torch", "runnerMs", "plainMs", "ratio", "steps", "rounds"}

runnerMs / plainMs: medians over rounds of the mean ms per step; ratio = plainMs / runnerMs
(runner throughput relative to the plain loop: 1 = parity; the GPU goal is >= 0.9).
"""
import argparse
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'engine', 'torch'))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('task')
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--rounds', type=int, default=3)
    args = ap.parse_args(argv)
    out = sys.stdout
    sys.stdout = sys.stderr
    import torch
    from lossmith_torch.data import DataCache
    from lossmith_torch.errors import classify
    from lossmith_torch.gpucheck import StepTimes, plain_loop
    from lossmith_torch.task import parse_task
    from lossmith_torch.train import Setup, run_task

    try:
        try:
            with open(args.task, encoding='utf-8') as f:
                task = json.load(f)
        except (OSError, ValueError) as e:
            out.write(json.dumps({'type': 'error', 'code': 'bad-task', 'message': 'task file %s cannot be read: %s' % (args.task, e)}) + '\n')
            return 2
        task['train'] = dict(task['train'], epochs=1, stepsPerEpoch=args.warmup + args.steps)
        task.pop('stepEvery', None)
        cache = DataCache(keep=1)
        runner_ms, plain_ms = [], []
        info = None
        for _ in range(args.rounds):
            times = StepTimes()
            msgs = []
            run_task(task, msgs.append, cache=cache, hooks=times)
            info = msgs[0]['info']
            iv = times.intervals(args.steps)
            runner_ms.append(1000 * sum(iv) / len(iv))
            setup = Setup(parse_task(task), cache)
            plain_ms.append(1000 * plain_loop(setup, args.steps, args.warmup) / args.steps)
            del setup
        r, p = statistics.median(runner_ms), statistics.median(plain_ms)
        out.write(json.dumps({'device': info['device'], 'deviceName': info['deviceName'], 'torch': torch.__version__,
                              'runnerMs': round(r, 3), 'plainMs': round(p, 3), 'ratio': round(p / r, 3),
                              'steps': args.steps, 'rounds': args.rounds}) + '\n')
        return 0
    except Exception as e:
        err = classify(e)
        out.write(json.dumps(err.to_json()) + '\n')
        return 2
    finally:
        sys.stdout = out


if __name__ == '__main__':
    sys.exit(main())
