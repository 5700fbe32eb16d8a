"""Mistake: one_sided_nmf returns the W of the last iteration, fitted to the H before the last sweep."""
from course.exercises.ex09_high_low_frequency import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "one_sided_nmf"


def one_sided_nmf(V, H0, iters):
    H, W = H0.clone(), least_squares_spatial(V, H0)  # noqa: F405
    for _ in range(iters):
        W = least_squares_spatial(V, H)  # noqa: F405
        H = update_channel_factors(V, W, H)  # noqa: F405
    return W, H
