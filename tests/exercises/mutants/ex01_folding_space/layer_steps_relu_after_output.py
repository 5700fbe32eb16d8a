"""Mistake: layer_steps applies ReLU after the output layer too (the scores lose their negative part)."""
from course.exercises.ex01_folding_space import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "layer_steps"


def layer_steps(points, weights, biases):
    steps, h = [], points
    for layer, (weight, bias) in enumerate(zip(weights, biases), start=1):
        a = h @ weight.T + bias
        h = torch.relu(a)
        steps.append(a)
        if layer < len(weights):
            steps.append(h)
    steps[-1] = torch.relu(steps[-1])
    return steps
