"""Mistake: motif_score takes the max over the batch (axis 0) instead of over the window positions."""
from course.exercises.ex03_motif_detection import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex03_motif_detection import sliding_windows

import torch

BROKEN = "motif_score"


def motif_score(x, w):
    scores = torch.stack([sliding_windows(sequence, len(w)) for sequence in x]) @ w  # (N, positions)
    best, positions = scores.max(dim=0)
    return best, positions
