"""A second correct solution, written independently of the reference one: it must score full marks.

The row part of a kernel is written as a matrix product: multiplying a kh×kw kernel on the
right by the kw×kw matrix full of 1/kw replaces every entry by its row's mean; on the left by
the kh×kh matrix of 1/kh, by its column's mean. Both together give the kernel's mean.
"""
import torch

BROKEN = None


def _averaging(n):
    return torch.full((n, n), 1.0 / n, dtype=torch.float64)


def band_fractions(weights):
    w = weights.double()
    kh, kw = w.shape[-2:]
    s = w - _averaging(kh) @ w @ _averaging(kw)
    row_part = s @ _averaging(kw)
    column_part = _averaging(kh) @ s
    horizontal, vertical = [], []
    for o in range(s.shape[0]):
        total = float((s[o] * s[o]).sum())
        horizontal.append(float((row_part[o] ** 2).sum()) / total if total > 0 else 0.0)
        vertical.append(float((column_part[o] ** 2).sum()) / total if total > 0 else 0.0)
    return torch.tensor(horizontal, dtype=torch.float64), torch.tensor(vertical, dtype=torch.float64)


def banding_score(weights):
    horizontal, vertical = band_fractions(weights)
    return sum(horizontal.tolist()) / len(horizontal) - sum(vertical.tolist()) / len(vertical)
