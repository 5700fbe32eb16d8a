"""A small p4 G-CNN and a plain CNN of about the same size, and the tools to compare them on rotations.

    gcnn, cnn = P4GCNN(), PlainCNN()          # about 2.7k parameters each
    parameter_count(gcnn), parameter_count(cnn)   # course.models.parameter_count
    rotate_images(x, 90.0)                    # torch.rot90 at multiples of 90°, interpolation between

The G-CNN is lift → ReLU → 2×2 max pool → p4 group conv → ReLU → 2×2 max pool → p4 group conv
→ ReLU → max over the group axis (group pooling) → max over space → linear. Every layer commutes
with rot90 (kernels.p4_lift / p4_conv with odd k and padding k//2; max pooling over aligned 2×2
blocks of an even-sized square image; ReLU acts pixel by pixel), and group pooling followed by
spatial pooling forgets where and in which pose a pattern was found: so the logits of an image
and of its rot90 are the same, up to the order of float sums. The CNN has the same layout with
ordinary convolutions and more channels, and no such guarantee.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import kernels


def group_pool(f: torch.Tensor) -> torch.Tensor:
    """Max over the group axis: (N, C, G, H, W) -> (N, C, H, W). Invariant to permuting that axis."""
    return f.amax(dim=2)


def _init(shape, fan_in, generator=None):
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter((torch.rand(shape, generator=generator) * 2 - 1) * bound)


class P4Lift(nn.Module):
    """Lifting layer: (N, Cin, H, W) -> (N, Cout, 4, H, W), one filter seen in 4 rotations."""

    def __init__(self, cin: int, cout: int, k: int = 3):
        super().__init__()
        self.weight = _init((cout, cin, k, k), cin * k * k)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x):
        return kernels.p4_lift(x, self.weight, self.bias, padding=self.weight.shape[-1] // 2)


class P4Conv(nn.Module):
    """p4 group convolution: (N, Cin, 4, H, W) -> (N, Cout, 4, H, W)."""

    def __init__(self, cin: int, cout: int, k: int = 3):
        super().__init__()
        self.weight = _init((cout, cin, 4, k, k), cin * 4 * k * k)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, f):
        return kernels.p4_conv(f, self.weight, self.bias, padding=self.weight.shape[-1] // 2)


def _pool_space(f):
    """2×2 max pooling of every map of a group feature map (N, C, G, H, W)."""
    n, c, g, h, w = f.shape
    return F.max_pool2d(f.reshape(n, c * g, h, w), 2).reshape(n, c, g, h // 2, w // 2)


class P4GCNN(nn.Module):
    """lift → pool → group conv → pool → group conv → group pool → max over space → linear."""

    def __init__(self, channels=(4, 6, 8), classes: int = 5, in_channels: int = 1):
        super().__init__()
        c1, c2, c3 = channels
        self.lift, self.conv2, self.conv3 = P4Lift(in_channels, c1), P4Conv(c1, c2), P4Conv(c2, c3)
        self.head = nn.Linear(c3, classes)

    def features(self, x):
        """The lifted feature map (N, c1, 4, H, W) after its ReLU: what the lesson's figure shows."""
        return torch.relu(self.lift(x))

    def forward(self, x):
        f = _pool_space(self.features(x))
        f = _pool_space(torch.relu(self.conv2(f)))
        f = torch.relu(self.conv3(f))
        return self.head(group_pool(f).amax(dim=(-2, -1)))


class PlainCNN(nn.Module):
    """The same layout with ordinary convolutions: conv → pool → conv → pool → conv → max over space → linear."""

    def __init__(self, channels=(8, 12, 16), classes: int = 5, in_channels: int = 1):
        super().__init__()
        c1, c2, c3 = channels
        self.conv1 = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1)
        self.head = nn.Linear(c3, classes)

    def forward(self, x):
        f = F.max_pool2d(torch.relu(self.conv1(x)), 2)
        f = F.max_pool2d(torch.relu(self.conv2(f)), 2)
        f = torch.relu(self.conv3(f))
        return self.head(f.amax(dim=(-2, -1)))


def rotate_images(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate images (N, C, H, W) counter-clockwise (as displayed) by `degrees`.

    Multiples of 90° use torch.rot90 (exact: pixels are only moved); other angles resample
    with bilinear interpolation (F.grid_sample), reflecting the image at its border so that
    the corners do not fill with an unnatural black.
    """
    quarter = degrees / 90.0
    if abs(quarter - round(quarter)) < 1e-9:
        return torch.rot90(x, int(round(quarter)) % 4, dims=(-2, -1))
    return rotate_by_interpolation(x, degrees)


def rotate_by_interpolation(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Bilinear rotation by any angle, in the same direction as torch.rot90 (counter-clockwise)."""
    theta = math.radians(degrees)
    cos, sin = math.cos(theta), math.sin(theta)
    # affine_grid maps output (x=col, y=row) in [-1, 1] to where it samples the input.
    # Counter-clockwise on screen (rows pointing down) means sampling at the clockwise-rotated point.
    matrix = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=x.dtype).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(matrix, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def randomly_rotated(x: torch.Tensor, seed: int, quarter_turns_only: bool) -> torch.Tensor:
    """Each image rotated by its own random angle: a multiple of 90°, or uniform in [0°, 360°)."""
    g = torch.Generator().manual_seed(seed)
    if quarter_turns_only:
        turns = torch.randint(0, 4, (len(x),), generator=g)
        return torch.stack([torch.rot90(image, int(t), dims=(-2, -1)) for image, t in zip(x, turns)])
    angles = torch.rand(len(x), generator=g) * 360
    return torch.cat([rotate_by_interpolation(image[None], float(a)) for image, a in zip(x, angles)])


@torch.no_grad()
def logits_under_rotation(model: nn.Module, image: torch.Tensor, angles) -> torch.Tensor:
    """The model's logits (len(angles), classes) for one image (C, H, W) rotated by each angle."""
    model.eval()
    return torch.cat([model(rotate_images(image[None], float(a))) for a in angles])


def upright_mask(angles: torch.Tensor, half_width_degrees: float = 22.5) -> torch.Tensor:
    """Which shapes were drawn within ±half_width of the reference pose, modulo 180°.

    The shapes data set draws every shape at a random angle. "Upright" training images are
    the ones whose angle is close to 0° or 180° (a line is then within that many degrees of
    horizontal): a quarter of the set for the default half-width.
    """
    degrees = torch.rad2deg(angles) % 180.0
    return (degrees < half_width_degrees) | (degrees >= 180.0 - half_width_degrees)
