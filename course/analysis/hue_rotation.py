"""Hue rotation: turning RGB colours about the grey axis (1, 1, 1), a continuous group.

Used by lesson 07 (the 120° rotation is the channel cycle R→G→B→R) and by `families`
(hue-shifted copies of a unit's weights).
"""
from __future__ import annotations

import math

import torch


def hue_rotation_matrix(degrees: float, dtype=torch.float64) -> torch.Tensor:
    """3×3 rotation of RGB colours about the grey axis (1, 1, 1) by `degrees` (Rodrigues' formula).

    At +120° it is the permutation R→G, G→B, B→R, i.e. the matrix of cycle_hue(·, 1).
    """
    axis = torch.ones(3, dtype=dtype) / math.sqrt(3)
    cross = torch.tensor([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]], dtype=dtype)
    t = math.radians(degrees)
    return math.cos(t) * torch.eye(3, dtype=dtype) + math.sin(t) * cross + (1 - math.cos(t)) * torch.outer(axis, axis)


def rotate_hue(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Apply hue_rotation_matrix to the colour axis (-3) of x."""
    return torch.einsum("dc,...chw->...dhw", hue_rotation_matrix(degrees, x.dtype), x)
