"""Mistake: rotate_kernel samples from the point turned forwards instead of back, so the kernel turns clockwise."""
from course.exercises.ex08_natural_equivariance import *  # noqa: F401,F403  (the correct solutions)
from course.exercises.ex08_natural_equivariance import rotate_kernel as _correct_rotate_kernel

BROKEN = "rotate_kernel"


def rotate_kernel(w, degrees):
    return _correct_rotate_kernel(w, -degrees)
