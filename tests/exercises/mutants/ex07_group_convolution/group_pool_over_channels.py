"""Mistake: group_pool takes the max over the channel axis instead of the group axis."""

from course.exercises.ex07_group_convolution import *  # noqa: F401,F403

BROKEN = "group_pool"


def group_pool(f):
    return f.amax(dim=1)
