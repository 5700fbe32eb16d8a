"""Mistake: band_fractions sums the squared row (column) means once per row, not once per tap."""
import torch

from course.exercises.ex10_weight_banding import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "band_fractions"


def band_fractions(weights):
    w = weights.double()
    s = w - w.mean(dim=(-2, -1), keepdim=True)
    total = s.pow(2).sum(dim=(1, 2, 3))
    rows = s.mean(dim=-1).pow(2).sum(dim=(1, 2))
    columns = s.mean(dim=-2).pow(2).sum(dim=(1, 2))
    safe = torch.where(total > 0, total, torch.ones_like(total))
    return torch.where(total > 0, rows / safe, 0.0), torch.where(total > 0, columns / safe, 0.0)
