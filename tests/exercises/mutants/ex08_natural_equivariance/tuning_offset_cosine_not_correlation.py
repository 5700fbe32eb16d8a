"""Mistake: tuning_offset compares the curves without removing their means (cosine, not Pearson correlation)."""
import torch

from course.exercises.ex08_natural_equivariance import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "tuning_offset"


def tuning_offset(a, b):
    n = len(a)
    a, b = a.double(), b.double()
    norm = a.norm() * b.norm()
    if norm == 0:
        return 0.0, 0.0
    scores = torch.stack([torch.roll(a, s) @ b for s in range(n)]) / norm
    s = int(torch.argmax(scores))
    return s * 360.0 / n, float(scores[s])
