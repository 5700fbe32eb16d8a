"""Mistake: banding_score returns a 0-d tensor where the spec asks for a Python float."""
from course.exercises.ex10_weight_banding import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "banding_score"


def banding_score(weights):
    horizontal, vertical = band_fractions(weights)  # noqa: F405
    return horizontal.mean() - vertical.mean()
