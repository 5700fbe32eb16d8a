"""Mistake: tuning_table returns the table as frequency × orientation (transposed)."""
from course.exercises.ex09_high_low_frequency import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex09_high_low_frequency import tuning_table as _correct_tuning_table

BROKEN = "tuning_table"


def tuning_table(responses, orientations, frequencies):
    o_values, f_values, table = _correct_tuning_table(responses, orientations, frequencies)
    return o_values, f_values, table.T
