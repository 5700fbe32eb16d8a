"""Simple and complex cells (Hubel and Wiesel), built from one oriented filter and a max.

A *simple cell* here is one oriented filter at one place, followed by a ReLU: it answers
a bar of the right orientation at the right position, and little else. A *complex cell*
takes the maximum of simple cells with the same filter over a small neighbourhood of
positions (max pooling): it keeps the orientation preference but forgets exactly where the
bar was. The stimulus is a bright bar on a dark field that can be rotated and moved
sideways (perpendicular to its length).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def oriented_bar(size: int, angle_deg: float, offset: float = 0.0, width: float = 2.0,
                 length: float | None = None) -> torch.Tensor:
    """A bright bar (1) on a dark field (0), (size, size) float64, with soft edges.

    The bar runs through the centre at `angle_deg` (0 = horizontal, counter-clockwise on
    screen), shifted by `offset` pixels perpendicular to its length.
    """
    length = size if length is None else length
    centre = (size - 1) / 2
    rows, cols = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                                indexing="ij")
    x, y = cols - centre, centre - rows  # y up, so positive angles turn counter-clockwise on screen
    theta = math.radians(angle_deg)
    along = x * math.cos(theta) + y * math.sin(theta)
    across = -x * math.sin(theta) + y * math.cos(theta) - offset
    inside_width = (width / 2 + 0.5 - across.abs()).clamp(0, 1)
    inside_length = (length / 2 + 0.5 - along.abs()).clamp(0, 1)
    return inside_width * inside_length


def oriented_filter(size: int = 9, angle_deg: float = 0.0, wavelength: float = 6.0, sigma: float = 2.0) -> torch.Tensor:
    """A zero-mean Gabor-like filter (size, size) float64 that prefers a bar at `angle_deg`.

    Positive along a central stripe at that angle, negative on its two flanks, fading
    with distance from the centre: it answers bright bars of about wavelength / 2 width.
    """
    centre = (size - 1) / 2
    rows, cols = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                                indexing="ij")
    x, y = cols - centre, centre - rows
    theta = math.radians(angle_deg)
    along = x * math.cos(theta) + y * math.sin(theta)
    across = -x * math.sin(theta) + y * math.cos(theta)
    envelope = torch.exp(-(along**2 + across**2) / (2 * sigma**2))
    weights = envelope * torch.cos(2 * math.pi * across / wavelength)
    return weights - weights.mean()


def simple_cell_map(images: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """ReLU(filter correlated with the image) at every position, 'same' padding.

    images: (..., H, W), any number of leading axes; returns the same shape.
    """
    k, (h, w) = weights.shape[-1], images.shape[-2:]
    flat = images.reshape(-1, 1, h, w)
    return F.relu(F.conv2d(flat, weights[None, None], padding=k // 2)).reshape(images.shape)


def simple_cell(images: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The simple cell at the image centre: one oriented filter at one position, then ReLU.

    images: (..., H, W); returns the responses, shape (...).
    """
    centre = images.shape[-1] // 2
    return simple_cell_map(images, weights)[..., centre, centre]


def complex_cell(images: torch.Tensor, weights: torch.Tensor, pool: int = 9) -> torch.Tensor:
    """The complex cell at the image centre: the max of the simple cells in a pool x pool neighbourhood.

    images: (..., H, W); returns the responses, shape (...).
    """
    centre, half = images.shape[-1] // 2, pool // 2
    responses = simple_cell_map(images, weights)
    return responses[..., centre - half:centre + half + 1, centre - half:centre + half + 1].amax(dim=(-2, -1))


def tuning(cell, weights, size: int, angles, offsets) -> torch.Tensor:
    """Responses (len(angles), len(offsets)) of a cell to bars at every angle and offset."""
    bars = torch.stack([torch.stack([oriented_bar(size, a, o) for o in offsets]) for a in angles])
    return cell(bars, weights)


def shift_sensitivity(responses_by_offset: torch.Tensor, offsets, max_shift: float) -> float:
    """1 - (weakest response within +-max_shift pixels) / (response at offset 0).

    0: the cell ignores shifts up to max_shift; 1: some such shift silences it.
    """
    offsets = torch.as_tensor(offsets, dtype=torch.float64)
    centre = responses_by_offset[offsets == 0].item()
    near = responses_by_offset[offsets.abs() <= max_shift]
    return 1.0 - (near.min().item() / centre)
