"""Hue as a group: cycling the RGB channels, a hue-equivariant lifting layer, and hue rotations.

The cyclic permutation R→G→B→R of the colour channels is an exact group of order 3 acting
on colour images: `cycle_hue(x, k)` moves channel c to channel c + k (mod 3), and
cycle_hue(cycle_hue(x, a), b) == cycle_hue(x, a + b), cycle_hue(x, 3) == x.

A hue-lifting layer sees each filter in its 3 cyclic colourings,

    out[:, o, h] = x ⋆ cycle_hue(w[o], h)          (N, 3, H, W) -> (N, Cout, 3, H', W')

and so cycling the input's colours by one step rolls the new hue axis by one:
hue_lift(cycle_hue(x, 1)) == hue_lift(x) rolled by +1 along axis 2.

The permutation is the 120° member of a continuous family: rotating colours about the grey
axis (1, 1, 1) (`hue_rotation_matrix`). A 180° hue rotation maps every colour whose channels
sum to zero (a pure colour contrast, no brightness) to its negative, which for a filter
with an odd spatial layout is the same as turning the filter by 180°.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

HUE_ORDER = 3


def cycle_hue(x: torch.Tensor, k: int) -> torch.Tensor:
    """Move colour channel c to channel c + k (mod 3); x has its 3 colour channels at axis -3."""
    return torch.roll(x, shifts=k % HUE_ORDER, dims=-3)


def hue_lift_filters(weight: torch.Tensor) -> torch.Tensor:
    """(Cout, 3, k, k) -> (Cout*3, 3, k, k): row o*3 + h is cycle_hue(weight[o], h)."""
    cout, cin, k, _ = weight.shape
    if cin != HUE_ORDER:
        raise ValueError(f"weight must have 3 colour channels, got shape {tuple(weight.shape)}")
    copies = torch.stack([cycle_hue(weight, h) for h in range(HUE_ORDER)], dim=1)
    return copies.reshape(cout * HUE_ORDER, cin, k, k)


def hue_lift(x: torch.Tensor, weight: torch.Tensor, padding: int = 0) -> torch.Tensor:
    """Hue-lifting layer: (N, 3, H, W), (Cout, 3, k, k) -> (N, Cout, 3, H', W')."""
    out = F.conv2d(x, hue_lift_filters(weight), padding=padding)
    return out.reshape(out.shape[0], weight.shape[0], HUE_ORDER, *out.shape[-2:])


def hue_group_errors(x: torch.Tensor) -> dict:
    """Largest deviations from the group laws of cycle_hue on x (all exactly 0: channels are only moved)."""
    closure = max((cycle_hue(cycle_hue(x, a), b) - cycle_hue(x, a + b)).abs().max().item()
                  for a in range(3) for b in range(3))
    return {"order_3": (cycle_hue(x, 3) - x).abs().max().item(),
            "closure": closure,
            "inverse": (cycle_hue(cycle_hue(x, 1), 2) - x).abs().max().item(),
            "one_step_moves": (cycle_hue(x, 1) - x).abs().max().item()}


def hue_lift_equivariance_error(x: torch.Tensor, weight: torch.Tensor, padding: int = 1) -> float:
    """max over k of |hue_lift(cycle_hue(x, k)) - roll(hue_lift(x), k, hue axis)|."""
    out = hue_lift(x, weight, padding)
    return max((hue_lift(cycle_hue(x, k), weight, padding) - torch.roll(out, k, dims=2)).abs().max().item()
               for k in range(HUE_ORDER))


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


def colour_contrast_filter(colour, size: int = 5, dtype=torch.float64) -> torch.Tensor:
    """A (3, size, size) filter: `colour` on the left half, minus `colour` on the right, zero in the middle column."""
    colour = torch.as_tensor(colour, dtype=dtype)
    side = torch.zeros(size, size, dtype=dtype)
    side[:, : size // 2], side[:, size - size // 2:] = 1.0, -1.0
    return colour[:, None, None] * side


def hue_half_turn_vs_spatial_half_turn(filter_: torch.Tensor) -> float:
    """max |rotate_hue(w, 180°) - rot90(w, 2)|: zero for an odd colour-contrast filter with no brightness part."""
    return (rotate_hue(filter_, 180.0) - torch.rot90(filter_, 2, dims=(-2, -1))).abs().max().item()
