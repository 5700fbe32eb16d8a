"""Mistake: shared_grad returns one entry per weight (len(index)) instead of one per parameter (n)."""
from course.exercises.ex02_parameter_transformations import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "shared_grad"


def shared_grad(grad_w, index, n):
    flat = index.reshape(-1)
    g = grad_w.new_zeros(max(len(flat), int(flat.max()) + 1))
    g.index_add_(0, flat, grad_w.reshape(-1))
    return g[: len(flat)]
