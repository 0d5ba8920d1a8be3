"""Lossmith's PyTorch training runner.

The Node side (engine/src/engines/torch/) starts `python3 -m lossmith_torch` and talks to it
in JSON lines; the wire types are protocol/torch-task.ts (TorchTask in; TorchMessage lines
and TorchProbe out). Modules:

- `__main__`: the command line (one task file, `--serve`, `--probe`) and the stdout protocol;
- `task`: parsing and validation of a task (one-line 'bad-task' errors);
- `train`: the training loop (engine/src/train.ts's semantics) and `run_task`;
- `models`: the networks (tfjs surrogates, Wide ResNets, ResNet-18, torchvision) and checkpoints;
- `data`: LMDS, CIFAR binary and image-folder readers, the device copy and the cache;
- `augment`: batched on-device augmentations (engine/src/augment's meaning);
- `losses`: importing the exporter's loss modules;
- `rng`, `split`: the tfjs engine's Rng and split functions, ported bit-exactly;
- `env`, `probe`, `errors`: torch/device discovery, the probe, error codes;
- `gpucheck`: runner vs a plain PyTorch loop on a GPU (scripts/gpu-check.sh).

This file imports nothing, so `--probe` works without torch.
"""
__version__ = '0.1.0'
