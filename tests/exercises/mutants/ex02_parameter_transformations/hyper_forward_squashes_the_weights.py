"""Mistake: hyper_forward puts a tanh on H's output too, so the generated weights are squashed into (-1, 1)."""
from course.exercises.ex02_parameter_transformations import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "hyper_forward"


def hyper_forward(context, x, hyper_weights):
    A1, a1, A2, a2 = hyper_weights
    theta = torch.tanh(torch.tanh(context @ A1.T + a1) @ A2.T + a2)
    return target_forward(x, theta)
