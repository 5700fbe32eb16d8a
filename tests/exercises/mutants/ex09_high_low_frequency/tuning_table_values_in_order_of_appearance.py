"""Mistake: tuning_table lists orientations and frequencies in the order the stimuli first show them, unsorted."""
import torch

from course.exercises.ex09_high_low_frequency import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "tuning_table"


def tuning_table(responses, orientations, frequencies):
    o_values = list(dict.fromkeys(orientations.tolist()))
    f_values = list(dict.fromkeys(frequencies.tolist()))
    table = torch.full((len(o_values), len(f_values)), float("nan"), dtype=responses.dtype)
    for value, o, f in zip(responses.tolist(), orientations.tolist(), frequencies.tolist()):
        a, b = o_values.index(o), f_values.index(f)
        if not value <= table[a, b]:  # nan compares false: the first value goes in
            table[a, b] = value
    return (torch.tensor(o_values, dtype=orientations.dtype), torch.tensor(f_values, dtype=frequencies.dtype), table)
