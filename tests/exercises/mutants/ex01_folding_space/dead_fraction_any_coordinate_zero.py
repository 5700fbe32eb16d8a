"""Mistake: dead_fraction calls a point dead when any coordinate is 0 (on an axis), not all of them."""
from course.exercises.ex01_folding_space import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "dead_fraction"


def dead_fraction(points, weights, biases):
    dead = torch.zeros(points.shape[0], dtype=torch.bool)
    h = points
    for weight, bias in zip(weights[:-1], biases[:-1]):
        h = torch.relu(h @ weight.T + bias)
        dead |= (h == 0).any(dim=1)
    return dead.sum().item() / points.shape[0]
