"""Mistake: shared_grad sizes its result by the largest index used, so trailing unused parameters are missing."""
from course.exercises.ex02_parameter_transformations import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "shared_grad"


def shared_grad(grad_w, index, n):
    flat = index.reshape(-1)
    return torch.bincount(flat, weights=grad_w.reshape(-1)).to(grad_w.dtype)
