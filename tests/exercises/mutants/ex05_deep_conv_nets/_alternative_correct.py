"""A second correct solution, written independently of the reference one: it must score full marks.

Pooling is written with explicit loops over the window's taps: each tap (r, s) is one
strided slice of the padded input, and the slices are combined with torch.maximum or
added up. The receptive field is measured on index ranges: the first and last input
pixel that unit 0 and unit 1 depend on, carried back through the layers from the top.
"""
import math

import torch

BROKEN = None


def _two(value):
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _taps(x, kernel_size, stride, padding, fill):
    """Yield one (N, C, H', W') slice of the padded input per kernel tap."""
    (kh, kw), (ph, pw) = _two(kernel_size), _two(padding)
    sh, sw = _two(kernel_size if stride is None else stride)
    H, W = x.shape[-2:]
    H_out, W_out = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
    padded = torch.cat([torch.full((*x.shape[:2], ph, W), fill, dtype=x.dtype), x,
                        torch.full((*x.shape[:2], ph, W), fill, dtype=x.dtype)], dim=2)
    side = torch.full((*x.shape[:2], H + 2 * ph, pw), fill, dtype=x.dtype)
    padded = torch.cat([side, padded, side], dim=3)
    for r in range(kh):
        for s in range(kw):
            yield padded[:, :, r:r + sh * (H_out - 1) + 1:sh, s:s + sw * (W_out - 1) + 1:sw]


def max_pool2d(x, kernel_size, stride=None, padding=0):
    result = None
    for tap in _taps(x, kernel_size, stride, padding, -math.inf):
        result = tap.clone() if result is None else torch.maximum(result, tap)
    return result


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    kh, kw = _two(kernel_size)
    return sum(_taps(x, kernel_size, stride, padding, 0.0)) / (kh * kw)


def l2_pool2d(x, kernel_size, stride=None, padding=0):
    return avg_pool2d(x * x, kernel_size, stride, padding).sqrt()


def receptive_field(layers):
    # Start from units 0 and 1 of the top layer and walk down: unit u of a layer reads the units
    # u*s - p ... u*s - p + d*(k-1) of the layer below.
    spans = [(0, 0), (1, 1)]
    for kernel, stride, padding, dilation in reversed(layers):
        spans = [(lo * stride - padding, hi * stride - padding + dilation * (kernel - 1)) for lo, hi in spans]
    (first, last), (next_first, _) = spans
    return last - first + 1, next_first - first, first
