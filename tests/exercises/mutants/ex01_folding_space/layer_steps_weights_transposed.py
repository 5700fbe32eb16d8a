"""Mistake: layer_steps multiplies by W instead of W.T (x @ W), the wrong reading of the (out, in) convention."""
from course.exercises.ex01_folding_space import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "layer_steps"


def layer_steps(points, weights, biases):
    steps, h = [], points
    for layer, (weight, bias) in enumerate(zip(weights, biases), start=1):
        a = h @ weight + bias
        steps.append(a)
        if layer < len(weights):
            h = torch.relu(a)
            steps.append(h)
    return steps
