"""A seeded shapes data set: discs, squares, triangles, crosses and lines on a noisy background.

Every image is drawn in code from a handful of random numbers (class, centre, size,
rotation, brightness), so the set is the same for a seed on every machine and nothing is
downloaded. Shapes are rasterised from signed distances: a pixel's ink is how far inside
the outline it lies, clipped to [0, 1], which gives soft (anti-aliased) edges.

    train = Shapes("train")            # 6000 images (1, 32, 32), labels 0..4
    test = Shapes("test")              # 2000 different images from the same distribution
    image, label = train[0]

`permutation_seed` applies one fixed random shuffle of the pixel positions to every
image: the information is all still there, but neighbouring pixels are no longer
neighbours, which is exactly what a convolution relies on.
"""
from __future__ import annotations

import copy
import math

import torch
from torch.utils.data import Dataset

CLASSES = ("disc", "square", "triangle", "cross", "line")
SPLIT_SEED_OFFSET = {"train": 0, "test": 1_000_003}  # train and test never share a random stream


def shape_distance(kind: int, u: torch.Tensor, v: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """Signed distance (pixels, negative inside) to a shape of class `kind`, in its own rotated frame.

    u, v: (N, H, W) pixel coordinates relative to each shape's centre, already rotated;
    radius: (N,) size of each shape (roughly its half-width).
    """
    r = radius[:, None, None]
    name = CLASSES[kind]
    if name == "disc":
        return torch.sqrt(u**2 + v**2) - r
    if name == "square":
        return torch.maximum(u.abs(), v.abs()) - 0.8 * r
    if name == "triangle":  # the intersection of three half-planes 120 degrees apart
        sides = [u * math.cos(a) + v * math.sin(a) for a in (math.pi / 2, math.pi * 7 / 6, math.pi * 11 / 6)]
        return torch.maximum(torch.maximum(sides[0], sides[1]), sides[2]) - 0.55 * r
    if name == "cross":
        arm = 0.22 * r + 0.6
        return torch.minimum(torch.maximum(u.abs() - r, v.abs() - arm), torch.maximum(u.abs() - arm, v.abs() - r))
    return torch.maximum(u.abs() - 1.1 * r, v.abs() - 0.9)  # line: a long thin bar


def draw_shapes(n: int, seed: int, size: int = 32, colour: bool = False) -> dict:
    """n random shape images and what they show, deterministic for a seed.

    Returns a dict: "images" (n, C, size, size) float32 in about [0, 1] with C = 3 if colour
    else 1; "labels" (n,) int64; and the drawing parameters "centres" (n, 2) (row, col),
    "radii" (n,), "angles" (n,) in radians.
    """
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, len(CLASSES), (n,), generator=g)
    radii = size * (0.16 + 0.16 * torch.rand(n, generator=g))  # 5 to 10 pixels at size 32
    margin = radii * 1.15 + 1
    centres = margin[:, None] + torch.rand(n, 2, generator=g) * (size - 1 - 2 * margin[:, None])
    angles = torch.rand(n, generator=g) * 2 * math.pi
    rows = torch.arange(size, dtype=torch.float32)
    y = rows[None, :, None] - centres[:, 0, None, None]
    x = rows[None, None, :] - centres[:, 1, None, None]
    cos, sin = torch.cos(angles)[:, None, None], torch.sin(angles)[:, None, None]
    u, v = cos * x + sin * y, -sin * x + cos * y
    distance = torch.empty(n, size, size)
    for kind in range(len(CLASSES)):
        members = labels == kind
        distance[members] = shape_distance(kind, u[members], v[members], radii[members])
    ink = (0.5 - distance).clamp(0, 1)  # (n, H, W): soft edges
    channels = 3 if colour else 1
    background = 0.35 * torch.rand(n, channels, 1, 1, generator=g)
    foreground = 0.6 + 0.4 * torch.rand(n, channels, 1, 1, generator=g)
    if colour:  # a random hue: scale each channel independently, keep the shape brighter overall
        foreground = foreground * (0.3 + 0.7 * torch.rand(n, 3, 1, 1, generator=g))
    noise = 0.06 * torch.randn(n, channels, size, size, generator=g)
    images = background + (foreground - background) * ink[:, None] + noise
    return {"images": images.float(), "labels": labels, "centres": centres, "radii": radii, "angles": angles}


def pixel_permutation(size: int, seed: int) -> torch.Tensor:
    """A fixed random order of the size*size pixel positions (a LongTensor), the same for a seed."""
    return torch.randperm(size * size, generator=torch.Generator().manual_seed(seed))


def permute_pixels(images: torch.Tensor, permutation: torch.Tensor) -> torch.Tensor:
    """Move every image's pixels (N, C, H, W) to the positions `permutation` gives (one shuffle for all)."""
    n, c, h, w = images.shape
    return images.reshape(n, c, h * w)[:, :, permutation].reshape(n, c, h, w)


class Shapes(Dataset):
    """The shapes data set as a torch Dataset of (image (C, size, size) float32, label int64).

    split: "train" or "test" (different random streams, same distribution); n: number of
    images (default 6000 for train, 2000 for test); seed: the data seed; colour: 3 channels
    instead of 1; permutation_seed: if given, one fixed shuffle of the pixel positions is
    applied to every image (see `pixel_permutation`).
    """

    classes = CLASSES

    def __init__(self, split: str = "train", n: int | None = None, seed: int = 0, size: int = 32,
                 colour: bool = False, permutation_seed: int | None = None):
        if split not in SPLIT_SEED_OFFSET:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        n = n if n is not None else (6000 if split == "train" else 2000)
        drawn = draw_shapes(n, seed + SPLIT_SEED_OFFSET[split], size, colour)
        self.split, self.seed, self.size, self.permutation_seed = split, seed, size, permutation_seed
        self.labels = drawn["labels"]
        self.centres, self.radii, self.angles = drawn["centres"], drawn["radii"], drawn["angles"]
        images = drawn["images"]
        if permutation_seed is not None:
            images = permute_pixels(images, pixel_permutation(size, permutation_seed))
        self.images = images

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index):
        return self.images[index], self.labels[index]

    def with_pixels_shuffled(self, permutation_seed: int) -> "Shapes":
        """The same images with one fixed shuffle of pixel positions (as permutation_seed would give)."""
        if self.permutation_seed is not None:
            raise ValueError("these images are already shuffled")
        shuffled = copy.copy(self)
        shuffled.permutation_seed = permutation_seed
        shuffled.images = permute_pixels(self.images, pixel_permutation(self.size, permutation_seed))
        return shuffled

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All images (N, C, H, W) and labels (N,) at once, e.g. for `fit`."""
        return self.images, self.labels
