"""Mistake: rotate_feature_map rolls the group axis by -r."""
import torch

from course.exercises.ex07_group_convolution import *  # noqa: F401,F403

BROKEN = "rotate_feature_map"


def rotate_feature_map(f, r):
    return torch.rot90(torch.roll(f, shifts=-r, dims=2), r, dims=(-2, -1))
