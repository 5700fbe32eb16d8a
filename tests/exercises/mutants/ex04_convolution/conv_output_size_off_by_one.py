"""Mistake: conv_output_size drops the "- 1" and counts one window too many whenever the stride divides evenly."""
from course.exercises.ex04_convolution import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "conv_output_size"


def conv_output_size(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - dilation * (k - 1)) // stride + 1
