"""A tiny conv net that learns its own templates, and a dense net that cannot share them.

    TemplateNet:  image (N, 1, H, W) -> conv k x k, C channels -> ReLU -> max over all
                  positions -> linear C -> 2 logits

The conv channels play the part of the hand-built templates and the global max asks
"did this template fire anywhere?". With padding k - 1 every window that overlaps the
image is scored, so on a zero background moving the letter moves the response maps and
leaves their maxima, hence the logits, exactly unchanged. `DenseNet` sees the same pixels
with no sharing between positions: a weight learned at one place says nothing about
another.
"""
from __future__ import annotations

import torch
from torch import nn


class TemplateNet(nn.Module):
    def __init__(self, channels: int = 4, k: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(1, channels, k, padding=k - 1)
        self.readout = nn.Linear(channels, 2)

    def response_maps(self, images: torch.Tensor) -> torch.Tensor:
        """ReLU(conv(images)): (N, C, H + k - 1, W + k - 1)."""
        return torch.relu(self.conv(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.readout(self.response_maps(images).amax(dim=(-2, -1)))


class DenseNet(nn.Module):
    """Flatten -> linear -> ReLU -> linear: a weight per pixel, nothing shared across positions."""

    def __init__(self, pixels: int, hidden: int = 32):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(pixels, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)


@torch.no_grad()
def predictions(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Predicted class per image (N,) int64, in evaluation mode."""
    model.eval()
    return model(images.to(next(model.parameters()).dtype)).argmax(dim=1)


@torch.no_grad()
def logit_spread_over_shifts(model: nn.Module, images: torch.Tensor, groups: torch.Tensor) -> float:
    """Largest change of the logits when one glyph (a group id per image) moves to any position."""
    model.eval()
    logits = model(images.to(next(model.parameters()).dtype))
    spread = 0.0
    for group in groups.unique():
        same = logits[groups == group]
        spread = max(spread, (same - same[0]).abs().max().item())
    return spread


def accuracy_by_offset(correct: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Mean of `correct` (N,) over the images whose glyph sits at each (row, col) offset: (rows, cols)."""
    rows, cols = (int(offsets[:, 0].max()) + 1, int(offsets[:, 1].max()) + 1)
    index = offsets[:, 0] * cols + offsets[:, 1]
    total = torch.zeros(rows * cols, dtype=torch.float64).index_add_(0, index, correct.double())
    count = torch.zeros(rows * cols, dtype=torch.float64).index_add_(0, index, torch.ones(len(index), dtype=torch.float64))
    return (total / count.clamp(min=1)).reshape(rows, cols)
