"""Mistake: motif_score_gradient averages the winning windows over the batch instead of summing them."""
from course.exercises.ex03_motif_detection import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex03_motif_detection import motif_score_gradient as _correct_gradient

BROKEN = "motif_score_gradient"


def motif_score_gradient(x, w):
    return _correct_gradient(x, w) / x.shape[0]
