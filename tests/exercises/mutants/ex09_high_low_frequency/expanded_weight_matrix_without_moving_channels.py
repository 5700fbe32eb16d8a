"""Mistake: expanded_weight_matrix reshapes without moving the channel axis last, mixing channels and taps."""
from course.exercises.ex09_high_low_frequency import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "expanded_weight_matrix"


def expanded_weight_matrix(expanded):
    members, channels, kh, kw = expanded.shape
    return expanded.reshape(members * kh * kw, channels)
