"""Mistake: max_pool2d moves every window one step at a time, whatever the stride (and its default)."""
from course.exercises.ex05_deep_conv_nets import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex05_deep_conv_nets import max_pool2d as _correct_max_pool2d

BROKEN = "max_pool2d"


def max_pool2d(x, kernel_size, stride=None, padding=0):
    return _correct_max_pool2d(x, kernel_size, stride=1, padding=padding)
