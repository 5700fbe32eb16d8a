"""Mistake: xcorr1d accumulates into a default-dtype (float32) buffer, so float64 input comes back float32."""
from course.exercises.ex04_convolution import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "xcorr1d"


def xcorr1d(x, w):
    n_out = x.shape[0] - w.shape[0] + 1
    y = torch.zeros(n_out)
    for j in range(w.shape[0]):
        y += w[j] * x[j:j + n_out]
    return y
