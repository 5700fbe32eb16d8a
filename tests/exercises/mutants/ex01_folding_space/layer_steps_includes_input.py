"""Mistake: layer_steps puts the input points in front of the list (2L entries instead of 2L - 1)."""
from course.exercises.ex01_folding_space import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex01_folding_space import layer_steps as _correct_layer_steps

BROKEN = "layer_steps"


def layer_steps(points, weights, biases):
    return [points] + _correct_layer_steps(points, weights, biases)
