"""Mistake: conv2d reads the pairs (along W, along H) instead of (along H, along W)."""
from course.exercises.ex04_convolution import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex04_convolution import conv2d as _correct_conv2d

BROKEN = "conv2d"


def conv2d(x, w, bias=None, stride=1, padding=0, dilation=1):
    def swapped(v):
        return v if isinstance(v, int) else (v[1], v[0])
    return _correct_conv2d(x, w, bias, stride=swapped(stride), padding=swapped(padding), dilation=swapped(dilation))
