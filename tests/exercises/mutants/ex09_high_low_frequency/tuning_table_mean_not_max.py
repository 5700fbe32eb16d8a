"""Mistake: tuning_table averages the stimuli of a cell (over phase) instead of taking the best one."""
import torch

from course.exercises.ex09_high_low_frequency import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "tuning_table"


def tuning_table(responses, orientations, frequencies):
    o_values, row = torch.unique(orientations, return_inverse=True)
    f_values, column = torch.unique(frequencies, return_inverse=True)
    table = torch.full((len(o_values) * len(f_values),), float("nan"), dtype=responses.dtype)
    table = table.scatter_reduce(0, row * len(f_values) + column, responses, reduce="mean", include_self=False)
    return o_values, f_values, table.reshape(len(o_values), len(f_values))
