"""Mistake: sliding_windows stops one window early (n - k windows instead of n - k + 1)."""
from course.exercises.ex03_motif_detection import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "sliding_windows"


def sliding_windows(x, k):
    starts = torch.arange(x.shape[0] - k)[:, None]
    return x[starts + torch.arange(k)[None, :]]
