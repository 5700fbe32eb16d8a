"""Mistake: expanded_weight_matrix orders the taps column by column (j*kh + i instead of i*kw + j)."""
from course.exercises.ex09_high_low_frequency import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "expanded_weight_matrix"


def expanded_weight_matrix(expanded):
    members, channels, kh, kw = expanded.shape
    return expanded.permute(0, 3, 2, 1).reshape(members * kh * kw, channels)
