"""Deterministic dataset splits, ported from engine/src/data/split.ts so that the runner's
validation hold-outs and `maxTrain` subsets are the very samples the tfjs engine uses.

Functions work on plain Python lists of labels and return index lists; the caller gathers the
tensors once.
"""
from typing import List, Sequence

from .rng import Rng, js_round


def indices_by_class(labels: Sequence[int], num_classes: int) -> List[List[int]]:
    out: List[List[int]] = [[] for _ in range(num_classes)]
    for i, lab in enumerate(labels):
        out[lab].append(i)
    return out


def class_counts(labels: Sequence[int], num_classes: int) -> List[int]:
    counts = [0] * num_classes
    for lab in labels:
        counts[lab] += 1
    return counts


def stratified_split_indices(labels: Sequence[int], num_classes: int, fractions: Sequence[float], rng: Rng) -> List[List[int]]:
    """split.ts stratifiedSplitIndices: per class shuffle, part p gets round(f_p * n_c) (the
    first part takes the rounding remainder), then each part is shuffled."""
    total = sum(fractions)
    if any(not (f >= 0) for f in fractions) or abs(total - 1) > 1e-9:
        raise ValueError('split fractions must be >= 0 and sum to 1, got %r' % (list(fractions),))
    parts: List[List[int]] = [[] for _ in fractions]
    for cls in indices_by_class(labels, num_classes):
        rng.shuffle(cls)
        sizes = [js_round(f * len(cls)) for f in fractions]
        sizes[0] = len(cls) - sum(sizes[1:])
        at = 0
        for p, size in enumerate(sizes):
            parts[p].extend(cls[at:at + size])
            at += size
    for p in parts:
        rng.shuffle(p)
    return parts


def stratified_subset_indices(labels: Sequence[int], num_classes: int, max_n: int, rng: Rng) -> List[int]:
    """split.ts stratifiedSubset: at most max_n samples, class shares by largest remainder
    (ties to the lower class), chosen by rng, returned in ascending (original) order."""
    n = len(labels)
    if n <= max_n:
        return list(range(n))
    by_class = indices_by_class(labels, num_classes)
    quotas = [(len(c) * max_n) / n for c in by_class]
    take = [int(q // 1) for q in quotas]
    left = max_n - sum(take)
    order = sorted(range(num_classes), key=lambda c: (-(quotas[c] - (quotas[c] // 1)), c))
    for c in order:
        if left == 0:
            break
        if take[c] < len(by_class[c]):
            take[c] += 1
            left -= 1
    keep: List[int] = []
    for c, cls in enumerate(by_class):
        rng.shuffle(cls)
        keep.extend(cls[:take[c]])
    keep.sort()
    return keep
