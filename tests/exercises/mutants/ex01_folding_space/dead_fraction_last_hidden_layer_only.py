"""Mistake: dead_fraction looks only at the last hidden layer, missing points that died earlier
and were moved off the origin again by a later bias."""
from course.exercises.ex01_folding_space import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "dead_fraction"


def dead_fraction(points, weights, biases):
    if len(weights) == 1:
        return 0.0
    h = points
    for weight, bias in zip(weights[:-1], biases[:-1]):
        h = torch.relu(h @ weight.T + bias)
    return (h == 0).all(dim=1).sum().item() / points.shape[0]
