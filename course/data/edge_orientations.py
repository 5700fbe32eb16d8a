"""Edge-orientation maps of natural-like images: at every pixel, which way does the edge run?

The labels are computed from the image itself. Smooth each colour channel a little, take the
brightness slope in x and y, and add the three channels' slopes up as a 2×2 "structure tensor"
(so a red-to-green edge of equal brightness counts as an edge too). Its main direction is the
direction *across* the edge, defined modulo 180° (a dark-to-light edge and a light-to-dark edge
at the same place get the same label). Directions are binned; pixels with too little slope are
labelled "flat".

    images, labels = edge_orientation_data(512, seed=0)   # (512, 3, 32, 32), (512, 32, 32) int64
    labels == 0   # slope points along x (a vertical edge); label b: direction b * 180/bins degrees
    labels == 8   # flat (with the default bins=8)

Angles are degrees counter-clockwise as seen on screen (x right, y up), as in
`course.analysis.families`.
"""
from __future__ import annotations

import math

import torch

from course.data.natural_images import gaussian_blur, natural_images


def edge_orientation_labels(images: torch.Tensor, bins: int = 8, threshold: float = 0.05,
                            sigma: float = 1.0) -> torch.Tensor:
    """(N, C, H, W) images -> (N, H, W) int64 labels: the binned direction across the edge, or `bins` for flat.

    Direction b covers (b - 1/2, b + 1/2) * 180/bins degrees (mod 180). Flat: the edge strength
    (square root of the structure tensor's larger eigenvalue, after a Gaussian blur of `sigma`
    pixels) is at most `threshold`. The outermost rows and columns use one-sided zero slope."""
    smooth = gaussian_blur(images.float(), sigma)
    gx, gy = torch.zeros_like(smooth), torch.zeros_like(smooth)
    gx[..., :, 1:-1] = (smooth[..., :, 2:] - smooth[..., :, :-2]) / 2
    gy[..., 1:-1, :] = (smooth[..., :-2, :] - smooth[..., 2:, :]) / 2  # y grows upwards on screen
    jxx, jyy, jxy = (gx * gx).sum(1), (gy * gy).sum(1), (gx * gy).sum(1)
    direction = 0.5 * torch.atan2(2 * jxy, jxx - jyy)  # main direction of the slope, mod pi
    strength = torch.sqrt(0.5 * (jxx + jyy + torch.sqrt((jxx - jyy) ** 2 + 4 * jxy ** 2)))
    binned = torch.round((direction % math.pi) / (math.pi / bins)).long() % bins
    return torch.where(strength > threshold, binned, torch.full_like(binned, bins))


def edge_orientation_data(n: int, seed: int, size: int = 32, bins: int = 8, threshold: float = 0.05):
    """(images (n, 3, size, size) in [0, 1], labels (n, size, size) int64): natural-like images
    (`course.data.natural_images`, same seed) and their edge-orientation maps."""
    images = natural_images(n, size=size, seed=seed)
    return images, edge_orientation_labels(images, bins=bins, threshold=threshold)
