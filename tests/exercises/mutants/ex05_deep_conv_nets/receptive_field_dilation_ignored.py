"""Mistake: receptive_field treats a dilated kernel as if its taps were adjacent."""
from course.exercises.ex05_deep_conv_nets import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex05_deep_conv_nets import receptive_field as _correct_receptive_field

BROKEN = "receptive_field"


def receptive_field(layers):
    return _correct_receptive_field([(kernel, stride, padding, 1) for kernel, stride, padding, _ in layers])
