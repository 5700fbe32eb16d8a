"""Mistake: rotate_kernel repeats the border taps outside the kernel (padding_mode="border") instead of reading 0."""
import math

import torch
import torch.nn.functional as F

from course.exercises.ex08_natural_equivariance import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "rotate_kernel"


def rotate_kernel(w, degrees):
    k = w.shape[-1]
    c = (k - 1) / 2
    t = math.radians(degrees)
    offsets = torch.arange(k, dtype=w.dtype) - c
    y, x = -offsets[:, None].expand(k, k), offsets[None, :].expand(k, k)
    grid = torch.stack([math.cos(t) * x + math.sin(t) * y, math.sin(t) * x - math.cos(t) * y], dim=-1) / max(c, 0.5)
    turned = F.grid_sample(w.reshape(1, -1, k, k), grid[None], mode="bilinear", padding_mode="border", align_corners=True)
    return turned.reshape(w.shape)
