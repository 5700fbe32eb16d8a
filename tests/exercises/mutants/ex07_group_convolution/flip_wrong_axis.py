"""Mistake: flip_then_rotate flips upside down (dims -2) instead of left-right."""
import torch

from course.exercises.ex07_group_convolution import *  # noqa: F401,F403

BROKEN = "flip_then_rotate"


def flip_then_rotate(w, g):
    m, r = divmod(g, 4)
    return torch.rot90(torch.flip(w, dims=(-2,)) if m else w, r, dims=(-2, -1))
