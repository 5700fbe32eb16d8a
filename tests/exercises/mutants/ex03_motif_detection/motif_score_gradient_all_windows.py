"""Mistake: motif_score_gradient lets every window contribute, ignoring that the max passes gradient to the winner only."""
from course.exercises.ex03_motif_detection import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex03_motif_detection import sliding_windows

BROKEN = "motif_score_gradient"


def motif_score_gradient(x, w):
    gradient = x.new_zeros(len(w))
    for sequence in x:
        gradient += sliding_windows(sequence, len(w)).sum(dim=0)
    return gradient
