"""Mistake: p4_conv_filter_bank rolls the group axis but forgets to rotate the k×k maps."""
import torch

from course.exercises.ex07_group_convolution import *  # noqa: F401,F403

BROKEN = "p4_conv_filter_bank"


def p4_conv_filter_bank(w):
    cout, cin, order, k, _ = w.shape
    copies = [torch.roll(w, shifts=r, dims=2) for r in range(4)]
    return torch.stack(copies, dim=1).reshape(cout * 4, cin * order, k, k)
