"""Mistake: update_channel_factors forgets the max(0, ...): the channel factors go negative."""
from course.exercises.ex09_high_low_frequency import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "update_channel_factors"


def update_channel_factors(V, W, H):
    H = H.clone()
    for r in range(H.shape[0]):
        norm = W[:, r] @ W[:, r]
        if norm > 0:
            H[r] = H[r] + W[:, r] @ (V - W @ H) / norm
    return H
