"""Mistake: banding_score subtracts the other way round (vertical - horizontal)."""
from course.exercises.ex10_weight_banding import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "banding_score"


def banding_score(weights):
    horizontal, vertical = band_fractions(weights)  # noqa: F405
    return float(vertical.mean() - horizontal.mean())
