"""Mistake: one_sided_nmf loops iters + 1 times (range(iters + 1), counting the start as an iteration)."""
from course.exercises.ex09_high_low_frequency import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "one_sided_nmf"


def one_sided_nmf(V, H0, iters):
    H = H0.clone()
    for _ in range(iters + 1):
        H = update_channel_factors(V, least_squares_spatial(V, H), H)  # noqa: F405
    return least_squares_spatial(V, H), H  # noqa: F405
