"""Mistake: conv2d accepts a bias but never adds it."""
from course.exercises.ex04_convolution import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex04_convolution import conv2d as _correct_conv2d

BROKEN = "conv2d"


def conv2d(x, w, bias=None, stride=1, padding=0, dilation=1):
    return _correct_conv2d(x, w, None, stride=stride, padding=padding, dilation=dilation)
