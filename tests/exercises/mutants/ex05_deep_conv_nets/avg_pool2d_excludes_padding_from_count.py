"""Mistake: avg_pool2d divides by the number of real (unpadded) cells: count_include_pad=False."""
import torch

from course.exercises.ex05_deep_conv_nets import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex05_deep_conv_nets import avg_pool2d as _correct_avg_pool2d

BROKEN = "avg_pool2d"


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    real_cells = _correct_avg_pool2d(torch.ones_like(x), kernel_size, stride, padding)
    return _correct_avg_pool2d(x, kernel_size, stride, padding) / real_cells
