"""Mistake: shared_grad assigns instead of adding, so one copy's gradient (the last written) wins."""
from course.exercises.ex02_parameter_transformations import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "shared_grad"


def shared_grad(grad_w, index, n):
    g = grad_w.new_zeros(n)
    g[index.reshape(-1)] = grad_w.reshape(-1)
    return g
