"""Mistake: im2col orders the rows kernel-position-major (tap, then channel) instead of channel-major."""
from course.exercises.ex04_convolution import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex04_convolution import im2col as _correct_im2col

BROKEN = "im2col"


def im2col(x, k, stride=1, padding=0, dilation=1):
    cols = _correct_im2col(x, k, stride=stride, padding=padding, dilation=dilation)
    N, C = x.shape[:2]
    taps = cols.shape[1] // C
    # (N, C, taps, L) -> (N, taps, C, L): row index tap*C + c instead of c*taps + tap.
    return cols.reshape(N, C, taps, -1).transpose(1, 2).reshape(N, C * taps, -1)
