"""Mistake: tuning_table starts every cell at 0, so missing pairs read 0 and negative responses never show."""
import torch

from course.exercises.ex09_high_low_frequency import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "tuning_table"


def tuning_table(responses, orientations, frequencies):
    o_values, row = torch.unique(orientations, return_inverse=True)
    f_values, column = torch.unique(frequencies, return_inverse=True)
    table = torch.zeros(len(o_values) * len(f_values), dtype=responses.dtype)
    table = table.scatter_reduce(0, row * len(f_values) + column, responses, reduce="amax", include_self=True)
    return o_values, f_values, table.reshape(len(o_values), len(f_values))
