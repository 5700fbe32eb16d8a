"""Mistake: target_forward reshapes V column by column (as (d, h), then transposes), not row by row."""
from course.exercises.ex02_parameter_transformations import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "target_forward"


def target_forward(x, theta):
    B, d = x.shape
    h = (theta.shape[1] - 1) // (d + 2)
    V = theta[:, : h * d].reshape(B, d, h).transpose(1, 2)
    c, r, s = theta[:, h * d : h * d + h], theta[:, h * d + h : h * d + 2 * h], theta[:, -1]
    return (r * torch.tanh(torch.einsum("bjk,bk->bj", V, x) + c)).sum(dim=1) + s
