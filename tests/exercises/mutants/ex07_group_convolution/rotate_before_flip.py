"""Mistake: flip_then_rotate rotates first and flips after (the wrong order)."""
import torch

from course.exercises.ex07_group_convolution import *  # noqa: F401,F403

BROKEN = "flip_then_rotate"


def flip_then_rotate(w, g):
    m, r = divmod(g, 4)
    w = torch.rot90(w, r, dims=(-2, -1))
    return torch.flip(w, dims=(-1,)) if m else w
