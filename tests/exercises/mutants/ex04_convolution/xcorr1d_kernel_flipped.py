"""Mistake: xcorr1d flips the kernel, computing true convolution instead of cross-correlation."""
from course.exercises.ex04_convolution import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "xcorr1d"


def xcorr1d(x, w):
    w = w.flip(0)
    n_out = x.shape[0] - w.shape[0] + 1
    return torch.stack([(w * x[i:i + w.shape[0]]).sum() for i in range(n_out)])
