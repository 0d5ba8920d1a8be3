#!/usr/bin/env bash
# GPU check of the PyTorch runner: its training speed against a plain hand-written PyTorch
# loop on the same model, data and optimiser (WRN-16-4 and WRN-28-10, batch 128, bf16,
# channels-last), on a synthetic CIFAR-10 written to a temporary folder. Needs only a
# python3 with torch (set PYTHON to choose one). Readable lines go to stderr, one JSON
# line to stdout; the goal is runner/plain >= 0.9.
#
#   scripts/gpu-check.sh                          # cuda
#   scripts/gpu-check.sh --device cpu --steps 3   # smoke test without a GPU
#   scripts/gpu-check.sh --strict                 # exit 1 when a ratio misses the goal
#
# Options: --device --steps --warmup --batch --models --precision --optimizer --strict
# (python3 -m lossmith_torch.gpucheck --help).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../engine/torch"
exec "${PYTHON:-python3}" -m lossmith_torch.gpucheck "$@"
