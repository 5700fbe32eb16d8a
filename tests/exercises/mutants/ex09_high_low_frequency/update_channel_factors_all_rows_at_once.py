"""Mistake: update_channel_factors computes every row's step from the old H (a Jacobi step, not a sweep)."""
from course.exercises.ex09_high_low_frequency import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "update_channel_factors"


def update_channel_factors(V, W, H):
    residual = V - W @ H
    new = H.clone()
    for r in range(H.shape[0]):
        norm = W[:, r] @ W[:, r]
        if norm > 0:
            new[r] = (H[r] + W[:, r] @ residual / norm).clamp_min(0)
    return new
