"""Mistake: p4_lift_filter_bank orders rows r*Cout + o instead of o*4 + r."""
import torch

from course.exercises.ex07_group_convolution import *  # noqa: F401,F403

BROKEN = "p4_lift_filter_bank"


def p4_lift_filter_bank(w):
    return torch.cat([torch.rot90(w, r, dims=(-2, -1)) for r in range(4)])
