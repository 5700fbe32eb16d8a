"""Mistake: max_pool2d pads with zeros instead of -inf, so on negative inputs the padding wins."""
import torch

from course.exercises.ex05_deep_conv_nets import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex05_deep_conv_nets import max_pool2d as _correct_max_pool2d

BROKEN = "max_pool2d"


def max_pool2d(x, kernel_size, stride=None, padding=0):
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    padded = torch.nn.functional.pad(x, (pw, pw, ph, ph))  # zeros
    return _correct_max_pool2d(padded, kernel_size, stride=kernel_size if stride is None else stride, padding=0)
