"""Mistake: band_fractions divides by the spatial variance without looking: a constant unit gets 0/0 = nan."""
from course.exercises.ex10_weight_banding import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "band_fractions"


def band_fractions(weights):
    w = weights.double()
    s = w - w.mean(dim=(-2, -1), keepdim=True)
    kh, kw = s.shape[-2:]
    total = s.pow(2).sum(dim=(1, 2, 3))
    return (s.mean(dim=-1).pow(2).sum(dim=(1, 2)) * kw / total,
            s.mean(dim=-2).pow(2).sum(dim=(1, 2)) * kh / total)
