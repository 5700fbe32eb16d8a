"""Hand-built templates that tell "C" from "D": endpoints and corners, counted anywhere.

A template is a 3x3 picture of a local feature: +1 where the feature has ink, -1 where
it must not. Slid over the image (cross-correlation, one pixel of zero padding), it
answers with (ink it finds where it wants ink) - (ink it finds where it wants none), so
on a 0/1 image it reaches its number of +1 entries exactly where the window equals its
picture. Thresholding at that number keeps the perfect matches only:

    endpoint (a stroke that stops)      corner (two strokes meeting at a right angle)
      - - -                               - - -
      + + -     threshold 2               - + +     threshold 3
      - - -                               - + -

Each comes in four orientations (rot90). Summing the thresholded maps counts endpoints
and corners wherever they are; two endpoints and no corner make a C, two corners and
no endpoint a D. The same weights are used at every position, so the counts, and hence
the decision, do not change when the letter moves.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

ENDPOINT_INK = ((0, 0, 0), (1, 1, 0), (0, 0, 0))  # a horizontal stroke ending at the centre
CORNER_INK = ((0, 0, 0), (0, 1, 1), (0, 1, 0))    # strokes leaving the centre rightwards and downwards
ENDPOINT_THRESHOLD = 2.0
CORNER_THRESHOLD = 3.0


def picture_template(ink) -> torch.Tensor:
    """+1 where the feature has ink, -1 everywhere else: (k, k) float64."""
    ink = torch.tensor(ink, dtype=torch.float64)
    return 2 * ink - 1


def four_orientations(template: torch.Tensor) -> torch.Tensor:
    """The template turned by 0, 90, 180 and 270 degrees: (4, k, k)."""
    return torch.stack([torch.rot90(template, r, dims=(0, 1)) for r in range(4)])


ENDPOINT_TEMPLATES = four_orientations(picture_template(ENDPOINT_INK))
CORNER_TEMPLATES = four_orientations(picture_template(CORNER_INK))


def template_responses(image: torch.Tensor, templates: torch.Tensor, threshold: float) -> torch.Tensor:
    """Thresholded cross-correlation maps: image (H, W), templates (T, k, k), k odd -> (T, H, W).

    1.0 where the response (zero padding k // 2, no kernel flip) is >= threshold, else 0.0.
    """
    k = templates.shape[-1]
    response = F.conv2d(image[None, None], templates[:, None].to(image.dtype), padding=k // 2)[0]
    return (response >= threshold).to(image.dtype)


def raw_responses(image: torch.Tensor, templates: torch.Tensor) -> torch.Tensor:
    """The cross-correlation maps before thresholding: (T, H, W)."""
    k = templates.shape[-1]
    return F.conv2d(image[None, None], templates[:, None].to(image.dtype), padding=k // 2)[0]


def count_features(image: torch.Tensor) -> tuple[int, int]:
    """(endpoints, corners) found anywhere in a (H, W) 0/1 image."""
    endpoints = template_responses(image, ENDPOINT_TEMPLATES, ENDPOINT_THRESHOLD).sum()
    corners = template_responses(image, CORNER_TEMPLATES, CORNER_THRESHOLD).sum()
    return int(endpoints), int(corners)


def classify_c_or_d(image: torch.Tensor) -> int:
    """0 (C) when endpoints outnumber corners, 1 (D) when corners outnumber endpoints, -1 on a tie."""
    endpoints, corners = count_features(image)
    return 0 if endpoints > corners else 1 if corners > endpoints else -1
