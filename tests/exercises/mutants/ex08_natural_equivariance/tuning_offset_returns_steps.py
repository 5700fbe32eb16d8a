"""Mistake: tuning_offset returns the shift in steps of the angle grid, not in degrees."""
from course.exercises.ex08_natural_equivariance import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex08_natural_equivariance import tuning_offset as _correct_tuning_offset

BROKEN = "tuning_offset"


def tuning_offset(a, b):
    offset, correlation = _correct_tuning_offset(a, b)
    return float(round(offset * len(a) / 360.0)), correlation
