"""Seeded random numbers shared with the TypeScript engine, and torch generators per purpose.

`Rng` is a bit-exact port of engine/src/rng.ts (sfc32 seeded through splitmix32, streams
derived per purpose with an FNV-style hash of the labels). The runner uses it where its draws
must equal the tfjs engine's: the fixed-seed validation hold-out of CIFAR folders and the
stratified `maxTrain` subset (data/split.ts), so both engines train and validate on the same
images.

Everything drawn per step (data order, dropout masks, augmentation parameters, initial
weights) comes from a `torch.Generator` seeded by `torch_seed(seed, purpose)`, i.e. from the
same derivation: two losses trained with the same seed see the same batches, initial weights
and augmentation draws.
"""
from typing import List, MutableSequence, Sequence, Union

M32 = 0xFFFFFFFF


def _imul(a: int, b: int) -> int:
    return (a * b) & M32


def _splitmix32(seed: int):
    x = seed & M32

    def nxt() -> int:
        nonlocal x
        x = (x + 0x9E3779B9) & M32
        z = x
        z = _imul(z ^ (z >> 16), 0x85EBCA6B)
        z = _imul(z ^ (z >> 13), 0xC2B2AE35)
        return (z ^ (z >> 16)) & M32

    return nxt


class Rng:
    """sfc32, exactly as engine/src/rng.ts (same seeds give the same stream)."""

    def __init__(self, seed: Union[int, Sequence[int]]):
        if isinstance(seed, int):
            sm = _splitmix32(seed)
            self.a, self.b, self.c, self.d = sm(), sm(), sm(), sm()
            for _ in range(12):
                self.next_uint32()
        else:
            self.a, self.b, self.c, self.d = (int(v) & M32 for v in seed)

    @staticmethod
    def derive(seed: int, *labels: Union[str, int]) -> 'Rng':
        return Rng(derive_hash(seed, *labels))

    def next_uint32(self) -> int:
        a, b, c, d = self.a, self.b, self.c, self.d
        t = (((a + b) & M32) + d) & M32
        self.d = (d + 1) & M32
        self.a = b ^ (b >> 9)
        self.b = (c + ((c << 3) & M32)) & M32
        c = ((c << 21) | (c >> 11)) & M32
        self.c = (c + t) & M32
        return t

    def next(self) -> float:
        """Uniform in [0, 1)."""
        return self.next_uint32() / 4294967296.0

    def int(self, n: int) -> int:
        """Uniform integer in [0, n)."""
        return int(self.next() * n)

    def shuffle(self, arr: MutableSequence) -> MutableSequence:
        """In-place Fisher-Yates (the same swaps as Rng.shuffle in rng.ts)."""
        for i in range(len(arr) - 1, 0, -1):
            j = self.int(i + 1)
            arr[i], arr[j] = arr[j], arr[i]
        return arr

    def state(self) -> List[int]:
        return [self.a, self.b, self.c, self.d]


def derive_hash(seed: int, *labels: Union[str, int]) -> int:
    """The 32-bit seed Rng.derive(seed, ...labels) uses (labels hashed as UTF-16 code units)."""
    h = seed & M32
    for label in labels:
        s = str(label)
        units = s.encode('utf-16-le')
        for i in range(0, len(units), 2):
            h = _imul(h ^ (units[i] | (units[i + 1] << 8)), 0x01000193)
        h = _imul(h ^ 0x2F, 0x01000193)
    return h


def torch_seed(seed: int, *purpose: Union[str, int]) -> int:
    """A 63-bit torch.Generator seed for one purpose ('order', 'init', 'dropout', 'augment')."""
    r = Rng.derive(seed, 'torch', *purpose)
    return ((r.next_uint32() << 32) | r.next_uint32()) & 0x7FFFFFFFFFFFFFFF


def js_round(x: float) -> int:
    """JavaScript's Math.round (halves go up), which Python's round (halves to even) is not."""
    import math
    return int(math.floor(x + 0.5))
