"""Mistake: receptive_field sets the jump to each layer's own stride instead of multiplying strides up."""
from course.exercises.ex05_deep_conv_nets import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "receptive_field"


def receptive_field(layers):
    size, jump, start = 1, 1, 0
    for kernel, stride, padding, dilation in layers:
        size += dilation * (kernel - 1) * jump
        start -= padding * jump
        jump = stride
    return size, jump, start
