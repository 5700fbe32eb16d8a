"""Mistake: family_from_tuning lists only the other members, not the unit itself (offset 0)."""
from course.exercises.ex08_natural_equivariance import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "family_from_tuning"


def family_from_tuning(curves, unit, threshold):
    members = []
    for j in range(len(curves)):
        offset, correlation = tuning_offset(curves[unit], curves[j])  # noqa: F405
        if j != unit and correlation >= threshold:
            members.append((j, offset))
    return sorted(members, key=lambda member: (member[1], member[0]))
