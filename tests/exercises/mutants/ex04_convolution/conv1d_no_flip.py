"""Mistake: conv1d forgets to flip the kernel, so it is cross-correlation."""
from course.exercises.ex04_convolution import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "conv1d"


def conv1d(x, w):
    n_out = x.shape[0] - w.shape[0] + 1
    y = x.new_zeros(n_out)
    for j in range(w.shape[0]):
        y += w[j] * x[j:j + n_out]
    return y
