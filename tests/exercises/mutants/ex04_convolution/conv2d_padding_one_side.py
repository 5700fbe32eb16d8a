"""Mistake: conv2d adds the padding zeros only before the image (top and left), not after it as well."""
from course.exercises.ex04_convolution import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "conv2d"


def conv2d(x, w, bias=None, stride=1, padding=0, dilation=1):
    (sh, sw), (ph, pw), (dh, dw) = [(v, v) if isinstance(v, int) else tuple(v) for v in (stride, padding, dilation)]
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    x_pad = x.new_zeros(N, C, H + ph, W + pw)
    x_pad[:, :, ph:, pw:] = x
    H_out = (H + ph - dh * (kh - 1) - 1) // sh + 1
    W_out = (W + pw - dw * (kw - 1) - 1) // sw + 1
    y = x.new_zeros(N, O, H_out, W_out)
    for r in range(kh):
        for s in range(kw):
            window = x_pad[:, :, r * dh::sh, s * dw::sw][:, :, :H_out, :W_out]
            y += torch.einsum("nchw,oc->nohw", window, w[:, :, r, s])
    if bias is not None:
        y += bias.reshape(1, O, 1, 1)
    return y
