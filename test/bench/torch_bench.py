"""PyTorch anchor for train-bench.ts: median ms per Adam train step, batch 128, one thread.

Prints one JSON line: {"torch": version, "blas": [loaded BLAS/LAPACK libraries], "mlp": ms, "convnet": ms}.
Run it with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread to select OpenBLAS
for this process only (Debian's default libblas.so.3 alternative may be the reference BLAS).
"""
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)


def loaded_blas():
    libs = set()
    with open('/proc/self/maps') as f:
        for line in f:
            p = line.split()[-1]
            if any(k in p for k in ('blas', 'lapack', 'mkl')):
                libs.add(p)
    return sorted(libs)


class ConvNet(nn.Module):
    def __init__(self, k=10, c=1):
        super().__init__()
        self.c1 = nn.Conv2d(c, 12, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(12, eps=1e-3, momentum=0.01)
        self.c2 = nn.Conv2d(12, 24, 3, stride=2, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(24, eps=1e-3, momentum=0.01)
        self.c3 = nn.Conv2d(24, 48, 3, stride=2, padding=1)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(48, k)

    def forward(self, x):
        x = F.silu(self.b1(self.c1(x)))
        x = F.silu(self.b2(self.c2(x)))
        x = self.c3(x).mean((2, 3))
        return self.fc(self.drop(x))


def bench(model, x, y, reps):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ts = []
    for i in range(reps + 3):
        t = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if i >= 3:
            ts.append((time.perf_counter() - t) * 1000)
    return statistics.median(ts)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    y = torch.randint(0, 10, (128,))
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    r_mlp = bench(mlp, torch.rand(128, 784), y, reps)
    r_cnn = bench(ConvNet(), torch.rand(128, 1, 28, 28), y, reps)
    print(json.dumps({'torch': torch.__version__, 'blas': loaded_blas(), 'mlp': r_mlp, 'convnet': r_cnn}))


if __name__ == '__main__':
    main()
