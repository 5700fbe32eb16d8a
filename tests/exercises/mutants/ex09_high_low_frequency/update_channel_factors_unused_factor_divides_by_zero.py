"""Mistake: update_channel_factors divides by ||W[:, r]||² without looking: an unused factor's row becomes nan."""
from course.exercises.ex09_high_low_frequency import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "update_channel_factors"


def update_channel_factors(V, W, H):
    H = H.clone()
    for r in range(H.shape[0]):
        H[r] = (H[r] + W[:, r] @ (V - W @ H) / (W[:, r] @ W[:, r])).clamp_min(0)
    return H
