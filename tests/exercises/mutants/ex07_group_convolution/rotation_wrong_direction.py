"""Mistake: rotate_filters turns clockwise (rot90 by -r)."""
import torch

from course.exercises.ex07_group_convolution import *  # noqa: F401,F403

BROKEN = "rotate_filters"


def rotate_filters(w, r):
    return torch.rot90(w, -r, dims=(-2, -1))
