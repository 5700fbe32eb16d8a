"""Mistake: band_fractions divides per input channel and averages the channels' fractions (no pooled sums)."""
import torch

from course.exercises.ex10_weight_banding import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "band_fractions"


def band_fractions(weights):
    w = weights.double()
    s = w - w.mean(dim=(-2, -1), keepdim=True)
    kh, kw = s.shape[-2:]
    total = s.pow(2).sum(dim=(2, 3))  # (C_out, C_in)
    rows = s.mean(dim=-1).pow(2).sum(dim=2) * kw
    columns = s.mean(dim=-2).pow(2).sum(dim=2) * kh
    safe = torch.where(total > 0, total, torch.ones_like(total))
    horizontal = torch.where(total > 0, rows / safe, 0.0).mean(dim=1)
    vertical = torch.where(total > 0, columns / safe, 0.0).mean(dim=1)
    return horizontal, vertical
