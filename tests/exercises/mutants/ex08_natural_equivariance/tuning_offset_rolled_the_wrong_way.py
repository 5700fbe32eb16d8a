"""Mistake: tuning_offset moves a towards smaller angles (torch.roll(a, -s)): the offset from b to a, not a to b."""
import torch

from course.exercises.ex08_natural_equivariance import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "tuning_offset"


def tuning_offset(a, b):
    n = len(a)
    a, b = a.double() - a.double().mean(), b.double() - b.double().mean()
    norm = a.norm() * b.norm()
    if norm == 0:
        return 0.0, 0.0
    scores = torch.stack([torch.roll(a, -s) @ b for s in range(n)]) / norm
    s = int(torch.argmax(scores))
    return s * 360.0 / n, float(scores[s])
