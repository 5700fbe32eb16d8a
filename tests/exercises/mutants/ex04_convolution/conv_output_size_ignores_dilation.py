"""Mistake: conv_output_size treats the kernel as k adjacent taps, forgetting that dilation widens it."""
from course.exercises.ex04_convolution import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "conv_output_size"


def conv_output_size(n, k, stride=1, padding=0, dilation=1):
    return (n + 2 * padding - k) // stride + 1
