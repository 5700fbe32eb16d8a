"""Mistake: receptive_field moves the start back by the padding in pixels of the layer below, not input pixels."""
from course.exercises.ex05_deep_conv_nets import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "receptive_field"


def receptive_field(layers):
    size, jump, start = 1, 1, 0
    for kernel, stride, padding, dilation in layers:
        size += dilation * (kernel - 1) * jump
        start -= padding  # should be padding * jump
        jump *= stride
    return size, jump, start
