"""Mistake: conv2d slides every window one step at a time, whatever the stride."""
from course.exercises.ex04_convolution import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex04_convolution import conv2d as _correct_conv2d

BROKEN = "conv2d"


def conv2d(x, w, bias=None, stride=1, padding=0, dilation=1):
    return _correct_conv2d(x, w, bias, stride=1, padding=padding, dilation=dilation)
