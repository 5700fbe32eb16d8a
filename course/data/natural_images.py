"""Natural-like images, generated in code: occluding shapes, textures, colour, and blur.

Photographs share a few statistics that matter to a CNN: objects of every size hide one
another (a "dead leaves" model: shapes dropped on top of each other, sizes drawn with
many small and few large), surfaces carry textures of many spatial frequencies, colours
vary, and part of a scene is out of focus. This generator reproduces those four, fast
enough to make thousands of 32x32 images per second on a CPU, from a seed:

    images = natural_images(512, seed=0)                     # (512, 3, 32, 32) in [0, 1]
    images, in_focus = natural_images(512, seed=0, return_focus=True)

Each image: a textured background; the first half of its leaves (the far ones) is then
blurred by a per-image amount (possibly none); the near leaves are drawn sharp on top.
`in_focus` marks the pixels that show a near, sharp leaf.

Run `python -m course.data.natural_images` to measure images per second.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

BLUR_SIGMAS = (0.0, 1.0, 2.0)  # out-of-focus levels for the far layer, chosen per image


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (N, C, H, W) with reflected borders.

    Written as a weighted sum of shifted copies (one per tap): for small images and many
    of them that is faster on a CPU than a one-channel conv2d.
    """
    if sigma == 0:
        return images
    radius = max(1, int(math.ceil(3 * sigma)))
    taps = torch.exp(-torch.arange(-radius, radius + 1, dtype=torch.float64) ** 2 / (2 * sigma**2))
    taps = (taps / taps.sum()).tolist()
    h, w = images.shape[-2:]
    padded = F.pad(images, (radius, radius, 0, 0), mode="reflect")
    rows = sum(weight * padded[..., :, t:t + w] for t, weight in enumerate(taps))
    padded = F.pad(rows, (0, 0, radius, radius), mode="reflect")
    return sum(weight * padded[..., t:t + h, :] for t, weight in enumerate(taps))


def _leaf(x, y, size, g, n):
    """One random leaf per image: its coverage alpha (N, H, W) and its colour * texture (N, 3, H, W)."""
    uniform = torch.rand(n, 12, generator=g)
    # Log-uniform radii from 1.5 pixels to half the image: as many leaves per octave of size,
    # so small ones are far more numerous per unit of area, as in a scene seen from afar.
    r_min, r_max = 1.5, size / 2
    radius = r_min * (r_max / r_min) ** uniform[:, 0]
    cy = -radius + uniform[:, 1] * (size + 2 * radius)
    cx = -radius + uniform[:, 2] * (size + 2 * radius)
    angle = uniform[:, 3] * math.pi
    aspect = 0.35 + 0.65 * uniform[:, 4]
    dx, dy = x - cx[:, None, None], y - cy[:, None, None]
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    u, v = (cos * dx + sin * dy) / aspect[:, None, None], -sin * dx + cos * dy
    ellipse = torch.sqrt(u**2 + v**2)
    box = torch.maximum(u.abs(), v.abs())
    is_box = (uniform[:, 5] < 0.4)[:, None, None]
    distance = torch.where(is_box, box, ellipse) - radius[:, None, None]
    alpha = (0.5 - distance * aspect[:, None, None]).clamp(0, 1)
    # A grating texture: log-uniform frequency from 1/32 to 0.45 cycles per pixel, random contrast
    # (a third of the leaves are plain), and a random colour.
    frequency = (1 / 32) * (0.45 * 32) ** uniform[:, 6]
    direction = uniform[:, 7] * math.pi
    contrast = torch.where(uniform[:, 8] < 0.33, torch.zeros(n), 0.6 * uniform[:, 9])
    phase = 2 * math.pi * uniform[:, 10]
    wave = 2 * math.pi * frequency[:, None, None] * (x * torch.cos(direction)[:, None, None]
                                                      + y * torch.sin(direction)[:, None, None])
    texture = 1 + contrast[:, None, None] * torch.cos(wave + phase[:, None, None])
    colour = torch.rand(n, 3, generator=g) * (0.3 + 0.7 * uniform[:, 11:12])  # some dark, some bright
    return alpha, colour[:, :, None, None] * texture[:, None]


def natural_images(n: int, size: int = 32, seed: int = 0, leaves: int = 20, return_focus: bool = False):
    """n natural-like RGB images (n, 3, size, size) float32 in [0, 1], deterministic for a seed.

    leaves: shapes per image (half far and possibly blurred, half near and sharp).
    return_focus: also return in_focus (n, size, size) bool, True where a near leaf shows.
    """
    g = torch.Generator().manual_seed(seed)
    coordinates = torch.arange(size, dtype=torch.float32)
    y, x = coordinates[None, :, None], coordinates[None, None, :]
    background_alpha, background = _leaf(x, y, size, g, n)
    images = background  # the first leaf fills the frame as background
    for _ in range(leaves // 2):
        alpha, value = _leaf(x, y, size, g, n)
        images = images + alpha[:, None] * (value - images)
    level = torch.randint(0, len(BLUR_SIGMAS), (n,), generator=g)
    blurred = images.clone()
    for index, sigma in enumerate(BLUR_SIGMAS):
        chosen = level == index
        if sigma > 0 and chosen.any():
            blurred[chosen] = gaussian_blur(images[chosen], sigma)
    images, near_cover = blurred, torch.zeros(n, size, size)
    for _ in range(leaves - leaves // 2):
        alpha, value = _leaf(x, y, size, g, n)
        images = images + alpha[:, None] * (value - images)
        near_cover = near_cover + alpha * (1 - near_cover)
    images = images.clamp(0, 1)
    if return_focus:
        in_focus = (near_cover > 0.5) | (level == 0)[:, None, None]
        return images, in_focus
    return images


def images_per_second(n: int = 2000, size: int = 32, repeats: int = 3) -> dict:
    """Measured generation speed: {"wall": images per wall-clock second, "cpu": per CPU second}.

    Best of `repeats` runs of n images. On a busy machine the wall-clock rate drops while
    the CPU rate (images per second of this process's own CPU time) stays about the same.
    """
    natural_images(64, size)  # warm-up
    wall, cpu = math.inf, math.inf
    for repeat in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        natural_images(n, size, seed=repeat)
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    return {"wall": n / wall, "cpu": n / cpu}


if __name__ == "__main__":
    rates = images_per_second()
    print(f"natural images (32x32 RGB): {rates['wall']:.0f} per second of wall-clock time, "
          f"{rates['cpu']:.0f} per second of CPU time ({torch.get_num_threads()} threads)")
