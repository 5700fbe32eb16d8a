"""Mistake: least_squares_spatial projects onto H's rows as if they were orthonormal: W = V Hᵀ, no (H Hᵀ)⁻¹."""
from course.exercises.ex09_high_low_frequency import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "least_squares_spatial"


def least_squares_spatial(V, H):
    return V @ H.T
