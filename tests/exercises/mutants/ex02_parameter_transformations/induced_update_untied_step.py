"""Mistake: induced_update takes a plain step on w (each copy by its own gradient), ignoring the tie."""
from course.exercises.ex02_parameter_transformations import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "induced_update"


def induced_update(grad_w, index, lr):
    return -lr * grad_w
