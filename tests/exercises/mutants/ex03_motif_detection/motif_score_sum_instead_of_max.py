"""Mistake: motif_score adds up the window scores instead of keeping the best one."""
from course.exercises.ex03_motif_detection import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex03_motif_detection import sliding_windows

import torch

BROKEN = "motif_score"


def motif_score(x, w):
    scores = torch.stack([sliding_windows(sequence, len(w)) for sequence in x]) @ w
    return scores.sum(dim=1), scores.argmax(dim=1)
