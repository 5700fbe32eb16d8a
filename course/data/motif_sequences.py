"""Noisy sequences that may hide a motif: the data of the 1-D motif-detection lesson.

Every sequence is Gaussian noise with exactly one short pattern added at a random place.
In a positive the pattern is the motif; in a negative it is a decoy, a random pattern
with the motif's length and norm. Both classes thus carry the same extra energy, and only
the pattern's *shape* tells them apart: a detector has to learn that shape.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

# An asymmetric bump-then-dip: read backwards it is a different pattern (so a flipped
# kernel would miss it). Length 7, norm about 3.5.
MOTIF = (1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0)


def default_motif(dtype=torch.float32) -> torch.Tensor:
    """The lesson's motif as a (k,) tensor."""
    return torch.tensor(MOTIF, dtype=dtype)


@dataclass
class MotifSequences:
    x: torch.Tensor          # (N, n) the sequences
    labels: torch.Tensor     # (N,) int64: 1 = contains the motif, 0 = contains a decoy
    positions: torch.Tensor  # (N,) int64: where the inserted pattern starts

    def __len__(self) -> int:
        return len(self.labels)


def motif_sequences(count: int, length: int, motif: torch.Tensor, *, noise: float = 0.35, seed: int = 0,
                    dtype=torch.float32) -> MotifSequences:
    """`count` sequences of `length` samples, half with the motif (class 1), half with a decoy (class 0).

    The pattern starts at a uniformly random position 0 .. length - k, so it always fits.
    Decoys are fresh Gaussian patterns rescaled to the motif's norm. Classes alternate
    (0, 1, 0, 1, ...), so any prefix is balanced. Deterministic for a seed.
    """
    k = len(motif)
    if not 1 <= k <= length:
        raise ValueError(f"the motif (length {k}) must fit in the sequence (length {length})")
    g = torch.Generator().manual_seed(seed)
    motif = motif.to(torch.float64)
    labels = torch.arange(count) % 2
    positions = torch.randint(0, length - k + 1, (count,), generator=g)
    decoys = torch.randn(count, k, generator=g, dtype=torch.float64)
    decoys = decoys / decoys.norm(dim=1, keepdim=True) * motif.norm()
    patterns = torch.where(labels[:, None] == 1, motif.expand(count, k), decoys)
    x = noise * torch.randn(count, length, generator=g, dtype=torch.float64)
    rows = torch.arange(count)[:, None]
    x[rows, positions[:, None] + torch.arange(k)] += patterns
    return MotifSequences(x.to(dtype), labels, positions)
