"""Mistake: band_fractions takes the means over the wrong axes, so row and column parts trade places."""
from course.exercises.ex10_weight_banding import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex10_weight_banding import band_fractions as _correct_band_fractions

BROKEN = "band_fractions"


def band_fractions(weights):
    horizontal, vertical = _correct_band_fractions(weights)
    return vertical, horizontal
