"""Mistake: family_from_tuning sorts the members by unit number instead of by offset."""
from course.exercises.ex08_natural_equivariance import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "family_from_tuning"


def family_from_tuning(curves, unit, threshold):
    members = []
    for j in range(len(curves)):
        offset, correlation = tuning_offset(curves[unit], curves[j])  # noqa: F405
        if correlation >= threshold:
            members.append((j, offset))
    return members
