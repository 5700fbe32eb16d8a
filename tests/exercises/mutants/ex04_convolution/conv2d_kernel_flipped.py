"""Mistake: conv2d flips the kernel (true convolution), which is not what deep learning's conv2d does."""
from course.exercises.ex04_convolution import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex04_convolution import conv2d as _correct_conv2d

BROKEN = "conv2d"


def conv2d(x, w, bias=None, stride=1, padding=0, dilation=1):
    return _correct_conv2d(x, w.flip(-2, -1), bias, stride=stride, padding=padding, dilation=dilation)
