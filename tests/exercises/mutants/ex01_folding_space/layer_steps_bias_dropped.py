"""Mistake: layer_steps forgets the biases (linear maps instead of affine ones)."""
from course.exercises.ex01_folding_space import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex01_folding_space import layer_steps as _correct_layer_steps

import torch

BROKEN = "layer_steps"


def layer_steps(points, weights, biases):
    return _correct_layer_steps(points, weights, [torch.zeros_like(b) for b in biases])
