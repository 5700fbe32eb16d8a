"""Mistake: share reads index the wrong way round, writing w[index[i]] = u[i] instead of w[i] = u[index[i]]."""
from course.exercises.ex02_parameter_transformations import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "share"


def share(u, index):
    w = u.new_zeros(index.shape).reshape(-1)
    flat = index.reshape(-1)
    for i in range(min(len(u), len(flat))):
        w[flat[i]] = u[i]
    return w.reshape(index.shape)
