"""Mistake: l2_pool2d takes the root of the SUM of squares (PyTorch's lp_pool2d with p = 2), not the mean."""
from course.exercises.ex05_deep_conv_nets import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex05_deep_conv_nets import l2_pool2d as _correct_l2_pool2d

BROKEN = "l2_pool2d"


def l2_pool2d(x, kernel_size, stride=None, padding=0):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    return _correct_l2_pool2d(x, kernel_size, stride, padding) * (kh * kw) ** 0.5
