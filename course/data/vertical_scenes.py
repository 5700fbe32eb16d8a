"""Outdoor-like scenes where *height in the image* carries meaning, generated from a seed.

In photographs, where something is vertically says a lot: sky is above, ground is below,
birds are high and stones are low. Horizontal position says almost nothing. This generator
builds small RGB scenes with that property, so that a network trained on them has a reason
to know how high up a feature is:

    images, labels = vertical_scenes(4000, seed=0)     # (4000, 3, 32, 32) in [0, 1], (4000,) in 0..3

Each image: a sky (a colour that brightens towards the horizon) over textured ground; the
horizon at a random height. One object is placed at a random column: a filled disc or a
hollow square (shape), high in the frame (rows 3..12) or low (rows 19..28). The label is

    label = 2 * shape + low          # 0: disc high, 1: disc low, 2: square high, 3: square low

so a classifier needs a spatial feature (which shape) AND the object's absolute height.
Whether the object is against sky or ground only partly tells its height (the horizon
moves), so the network has to find height itself. With global average pooling it cannot
read height off the position of a feature map, only off edge effects of zero padding near
the top and bottom borders: the situation in which the Circuits article saw weight bands.

`rotated=True` turns every image by 90° (torch.rot90, counter-clockwise): the same task
with the informative direction now horizontal. `task="shape"` keeps the same images but
labels them by shape only (0 disc, 1 square): a control in which height tells nothing.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

CLASSES = ("disc high", "disc low", "square high", "square low")
TASKS = ("shape_and_height", "shape")
HIGH_ROWS, LOW_ROWS = (3, 12), (19, 28)  # inclusive ranges of the object's centre row (size 32)


def _smooth_noise(n: int, size: int, g: torch.Generator, cells: int) -> torch.Tensor:
    """Smooth random texture (n, size, size), zero mean, unit-ish amplitude: coarse noise upsampled."""
    coarse = torch.randn(n, 1, cells, cells, generator=g)
    return F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)[:, 0]


def vertical_scenes(n: int, size: int = 32, seed: int = 0, rotated: bool = False,
                    task: str = "shape_and_height") -> tuple[torch.Tensor, torch.Tensor]:
    """n scenes (n, 3, size, size) float32 in [0, 1] and labels (n,) int64 in 0..3, deterministic for a seed.

    rotated: turn every image by 90° (the labels stay the same).
    task: "shape_and_height" (labels 0..3, CLASSES) or "shape" (labels 0..1: the same images, height ignored).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    g = torch.Generator().manual_seed(seed)
    scale = size / 32
    rows = torch.arange(size, dtype=torch.float32)
    y, x = rows[None, :, None], rows[None, None, :]

    # Sky over ground, the horizon anywhere in the middle half of the frame.
    horizon = (0.3 + 0.4 * torch.rand(n, generator=g)) * size
    sky_colour = torch.stack([0.25 + 0.35 * torch.rand(n, generator=g), 0.45 + 0.3 * torch.rand(n, generator=g),
                              0.7 + 0.3 * torch.rand(n, generator=g)], dim=1)
    ground_colour = torch.stack([0.3 + 0.4 * torch.rand(n, generator=g), 0.25 + 0.4 * torch.rand(n, generator=g),
                                 0.05 + 0.25 * torch.rand(n, generator=g)], dim=1)
    brighten = (1 - (horizon[:, None, None] - y).clamp(min=0) / size)  # haze: lighter near the horizon
    sky = sky_colour[:, :, None, None] * (0.75 + 0.25 * brighten[:, None])
    texture = 0.12 * _smooth_noise(n, size, g, cells=8) + 0.06 * torch.randn(n, size, size, generator=g)
    ground = ground_colour[:, :, None, None] * (1 + texture[:, None])
    is_sky = (y < horizon[:, None, None]).float()[:, None]
    images = is_sky * sky + (1 - is_sky) * ground

    # The object: shape, height band, column; a colour that stands out from both backgrounds.
    shape = torch.randint(0, 2, (n,), generator=g)
    low = torch.randint(0, 2, (n,), generator=g)
    band_start = torch.where(low.bool(), torch.tensor(float(LOW_ROWS[0])), torch.tensor(float(HIGH_ROWS[0])))
    centre_y = (band_start + torch.rand(n, generator=g) * (HIGH_ROWS[1] - HIGH_ROWS[0])) * scale
    centre_x = (4 + torch.rand(n, generator=g) * 24) * scale
    radius = (2.5 + 1.5 * torch.rand(n, generator=g)) * scale
    dy, dx = y - centre_y[:, None, None], x - centre_x[:, None, None]
    disc = (radius[:, None, None] + 0.5 - torch.sqrt(dx**2 + dy**2)).clamp(0, 1)
    box = torch.maximum(dx.abs(), dy.abs())
    outline = (1 - (box - radius[:, None, None]).abs()).clamp(0, 1)  # a 1-2 pixel hollow square
    alpha = torch.where(shape.bool()[:, None, None], outline, disc)[:, None]
    object_colour = torch.rand(n, 3, generator=g)
    object_colour[:, 0] = torch.where(torch.rand(n, generator=g) < 0.5, 0.9, 0.1)  # strong red contrast
    images = images + alpha * (object_colour[:, :, None, None] - images)

    # A few small dark "birds or stones" anywhere: clutter that carries no class information.
    for _ in range(3):
        cy, cx = torch.rand(n, generator=g) * size, torch.rand(n, generator=g) * size
        blob = (1.2 * scale - torch.sqrt((y - cy[:, None, None]) ** 2 + (x - cx[:, None, None]) ** 2)).clamp(0, 1)
        images = images * (1 - 0.6 * blob[:, None])
    images = (images + 0.03 * torch.randn(images.shape, generator=g)).clamp(0, 1)
    if rotated:
        images = torch.rot90(images, 1, dims=(-2, -1)).contiguous()
    return images.float(), (2 * shape + low if task == "shape_and_height" else shape)
