"""Mistake: shared_grad averages the copies' gradients instead of adding them."""
from course.exercises.ex02_parameter_transformations import *  # noqa: F401,F403  (the correct solutions)

import torch

BROKEN = "shared_grad"


def shared_grad(grad_w, index, n):
    flat = index.reshape(-1)
    total = grad_w.new_zeros(n).index_add_(0, flat, grad_w.reshape(-1))
    copies = torch.bincount(flat, minlength=n).clamp(min=1).to(grad_w.dtype)
    return total / copies
