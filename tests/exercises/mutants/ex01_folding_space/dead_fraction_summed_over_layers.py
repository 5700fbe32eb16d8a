"""Mistake: dead_fraction adds up each layer's dead fraction, counting a point once per layer that kills it."""
from course.exercises.ex01_folding_space import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "dead_fraction"


def dead_fraction(points, weights, biases):
    total, h = 0.0, points
    for weight, bias in zip(weights[:-1], biases[:-1]):
        h = torch.relu(h @ weight.T + bias)
        total += (h == 0).all(dim=1).sum().item() / points.shape[0]
    return total
