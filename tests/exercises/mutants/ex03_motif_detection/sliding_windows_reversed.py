"""Mistake: sliding_windows reads each window backwards (the kernel-flip of convolution)."""
from course.exercises.ex03_motif_detection import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "sliding_windows"


def sliding_windows(x, k):
    starts = torch.arange(x.shape[0] - k + 1)[:, None]
    return x[starts + torch.arange(k - 1, -1, -1)[None, :]]
