"""Shared fixtures for the runner's tests: tiny synthetic data sets and tasks (CPU, seconds)."""
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)  # engine/torch
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import torch  # noqa: E402

from lossmith_torch.data import write_lmds  # noqa: E402

EXAMPLES = os.path.join(ROOT, 'examples')


def example(name: str) -> str:
    with open(os.path.join(EXAMPLES, name), encoding='utf-8') as f:
        return f.read()


def pattern_images(n: int, classes: int, g: torch.Generator, h: int = 8, w: int = 8, c: int = 1):
    """NHWC uint8 images whose class is a bright quadrant-ish patch over noise (learnable)."""
    y = torch.randint(0, classes, (n,), generator=g)
    x = torch.rand(n, h, w, c, generator=g) * 0.5
    for k in range(classes):
        r = (k // 2) % 2 * (h // 2)
        col = (k % 2) * (w // 2)
        m = y == k
        x[m, r:r + h // 2, col:col + w // 2, :] += 0.5
    return (x * 255).round().to(torch.uint8), y


def tiny_lmds(folder: str, n_train: int = 200, classes: int = 4, seed: int = 0, h: int = 8, w: int = 8, c: int = 1) -> str:
    g = torch.Generator().manual_seed(seed)
    path = os.path.join(folder, 'tiny.lmds')
    write_lmds(path, 'tiny', {'train': pattern_images(n_train, classes, g, h, w, c),
                              'val': pattern_images(80, classes, g, h, w, c),
                              'test': pattern_images(80, classes, g, h, w, c)}, classes)
    return path


def task(data_path: str, **over) -> dict:
    t = {
        'version': 1,
        'loss': {'module': example('ce.py'), 'fn': 'ce'},
        'model': {'kind': 'convnet'},
        'data': {'kind': 'tensors', 'path': data_path},
        'augment': 'none',
        'train': {'epochs': 2, 'seed': 1, 'batchSize': 20, 'lr': 0.01},
        'device': 'cpu',
        'precision': 'fp32',
    }
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(t.get(k), dict):
            t[k] = {**t[k], **v}
        else:
            t[k] = v
    return t


class Collect:
    """An emit function that keeps the messages."""

    def __init__(self):
        self.messages = []

    def __call__(self, m):
        json.dumps(m, allow_nan=False)  # every message must be valid JSON
        self.messages.append(m)

    def of(self, kind):
        return [m for m in self.messages if m['type'] == kind]


def write_cifar10(folder: str, per_file: int = 20, test: int = 20, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    os.makedirs(folder, exist_ok=True)
    for name, n in [('data_batch_%d.bin' % i, per_file) for i in range(1, 6)] + [('test_batch.bin', test)]:
        labels = torch.randint(0, 10, (n, 1), generator=g).to(torch.uint8)
        pix = torch.randint(0, 256, (n, 3072), generator=g).to(torch.uint8)
        rec = torch.cat([labels, pix], 1)
        with open(os.path.join(folder, name), 'wb') as f:
            f.write(bytes(rec.flatten().tolist()))


class TempDir:
    def __enter__(self):
        self.t = tempfile.TemporaryDirectory(prefix='lossmith-torch-test-')
        return self.t.name

    def __exit__(self, *a):
        self.t.cleanup()
