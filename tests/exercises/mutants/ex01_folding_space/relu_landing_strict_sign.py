"""Mistake: relu_landing counts strictly negative coordinates, so a coordinate that is already 0 is missed."""
from course.exercises.ex01_folding_space import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "relu_landing"


def relu_landing(points):
    return (points < 0).sum(dim=1)
