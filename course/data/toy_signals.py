"""Small seeded signals and images for the convolution lessons, with known structure.

The structure is the point: a step signal has edges at known places, and the shapes image
has a square whose sides are known, so a lesson can check where a detector responds.
"""
import torch


def piecewise_signal(n, seed):
    """A step-like 1-D signal (n,) with a little seeded noise, in float64."""
    levels = torch.tensor([0.0, 1.5, 0.6, 2.0, -0.5], dtype=torch.float64)
    steps = levels[torch.arange(n) * len(levels) // n]
    return steps + 0.1 * torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def shapes_image(size, seed):
    """(size, size) image: a square (top left), a disc (top right), a diagonal bar, faint noise.

    Returns the image and the square's rows/columns (r0, r1, c0, c1), end exclusive.
    """
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    r0, r1, c0, c1 = size // 8, size // 2 - 2, size // 8, size // 2 - 2
    image = ((rows >= r0) & (rows < r1) & (cols >= c0) & (cols < c1)).double()
    image += (((rows - 0.3 * size) ** 2 + (cols - 0.75 * size) ** 2) < (0.15 * size) ** 2).double()
    image += (((rows + cols - 1.25 * size).abs() < 0.06 * size) & (rows > 0.6 * size) & (rows < 0.9 * size)).double()
    noise = torch.randn(size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return image + 0.05 * noise, (r0, r1, c0, c1)
