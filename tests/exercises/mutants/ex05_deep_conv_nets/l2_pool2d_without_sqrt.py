"""Mistake: l2_pool2d returns the mean of squares and forgets the square root."""
from course.exercises.ex05_deep_conv_nets import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex05_deep_conv_nets import avg_pool2d as _correct_avg_pool2d

BROKEN = "l2_pool2d"


def l2_pool2d(x, kernel_size, stride=None, padding=0):
    return _correct_avg_pool2d(x * x, kernel_size, stride, padding)
