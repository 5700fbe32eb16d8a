"""Mistake: im2col lists the windows column by column (l = q * H' + p) instead of row by row."""
from course.exercises.ex04_convolution import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex04_convolution import conv_output_size as _conv_output_size
from course.exercises.ex04_convolution import im2col as _correct_im2col

BROKEN = "im2col"


def im2col(x, k, stride=1, padding=0, dilation=1):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = [
        (v, v) if isinstance(v, int) else tuple(v) for v in (k, stride, padding, dilation)
    ]
    H_out = _conv_output_size(x.shape[2], kh, sh, ph, dh)
    W_out = _conv_output_size(x.shape[3], kw, sw, pw, dw)
    cols = _correct_im2col(x, k, stride=stride, padding=padding, dilation=dilation)
    N, rows = cols.shape[:2]
    return cols.reshape(N, rows, H_out, W_out).transpose(2, 3).reshape(N, rows, -1)
