"""Pixel letters "C" and "D" at every position of a small grid: the data of the C-vs-D lesson.

Strokes are one pixel wide, on a black (0) background. The two letters differ in one
way that matters here: C's top and bottom strokes *end* on the right (two endpoints) and
its left-hand bends are rounded (a diagonal step), while D's left-hand bends are sharp
(two corners) and its right-hand side is rounded and closed (no endpoint).

    C, 5 x 4      D, 5 x 4
    . # # #       # # # .
    # . . .       # . . #
    # . . .       # . . #
    # . . .       # . . #
    . # # #       # # # .
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

LETTERS = ("C", "D")          # class 0 is C, class 1 is D
SIZES = ((5, 4), (6, 4), (6, 5), (7, 5))  # (height, width) of the glyphs
GRID = 14


def glyph(letter: str, height: int = 5, width: int = 4) -> torch.Tensor:
    """The letter drawn in a (height, width) box, float64 0/1; height >= 5, width >= 4."""
    if letter not in LETTERS or height < 5 or width < 4:
        raise ValueError(f"glyph draws 'C' or 'D' with height >= 5 and width >= 4, got {letter!r} {height}x{width}")
    image = torch.zeros(height, width, dtype=torch.float64)
    if letter == "C":
        image[0, 1:] = image[-1, 1:] = 1  # open on the right: strokes end there
        image[1:-1, 0] = 1                # joined to the top and bottom by a diagonal step
    else:
        image[0, :-1] = image[-1, :-1] = 1  # sharp corners on the left
        image[:, 0] = 1
        image[1:-1, -1] = 1                 # closed, rounded on the right
    return image


def place(image: torch.Tensor, row: int, col: int, grid: int = GRID) -> torch.Tensor:
    """A (grid, grid) canvas with `image` pasted so its top-left pixel is at (row, col)."""
    h, w = image.shape
    if not (0 <= row <= grid - h and 0 <= col <= grid - w):
        raise ValueError(f"a {h}x{w} glyph at ({row}, {col}) does not fit a {grid}x{grid} grid")
    canvas = torch.zeros(grid, grid, dtype=image.dtype)
    canvas[row:row + h, col:col + w] = image
    return canvas


@dataclass
class LetterImages:
    images: torch.Tensor   # (N, 1, grid, grid) float64
    labels: torch.Tensor   # (N,) int64: 0 = C, 1 = D
    offsets: torch.Tensor  # (N, 2) int64: (row, col) of the glyph's top-left pixel
    sizes: torch.Tensor    # (N, 2) int64: (height, width) of the glyph

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, keep: torch.Tensor) -> "LetterImages":
        return LetterImages(self.images[keep], self.labels[keep], self.offsets[keep], self.sizes[keep])


def every_shift(grid: int = GRID, sizes=SIZES) -> LetterImages:
    """Both letters, in every size, at every position where they fit: the whole shift family."""
    images, labels, offsets, shapes = [], [], [], []
    for label, letter in enumerate(LETTERS):
        for height, width in sizes:
            drawn = glyph(letter, height, width)
            for row in range(grid - height + 1):
                for col in range(grid - width + 1):
                    images.append(place(drawn, row, col, grid))
                    labels.append(label)
                    offsets.append((row, col))
                    shapes.append((height, width))
    return LetterImages(torch.stack(images)[:, None], torch.tensor(labels), torch.tensor(offsets), torch.tensor(shapes))
