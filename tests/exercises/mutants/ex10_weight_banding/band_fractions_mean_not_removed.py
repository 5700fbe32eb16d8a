"""Mistake: band_fractions divides by the raw weights' energy, so each kernel's mean counts as variance."""
import torch

from course.exercises.ex10_weight_banding import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "band_fractions"


def band_fractions(weights):
    w = weights.double()
    s = w - w.mean(dim=(-2, -1), keepdim=True)
    kh, kw = w.shape[-2:]
    total = w.pow(2).sum(dim=(1, 2, 3))
    rows = s.mean(dim=-1).pow(2).sum(dim=(1, 2)) * kw
    columns = s.mean(dim=-2).pow(2).sum(dim=(1, 2)) * kh
    safe = torch.where(total > 0, total, torch.ones_like(total))
    return torch.where(total > 0, rows / safe, 0.0), torch.where(total > 0, columns / safe, 0.0)
