"""Dataset examples: the real images a unit responds to most.

Feature visualisation shows what a unit *could* respond to; dataset examples show what it
*does* respond to among the data it was trained on. The two keep each other honest: a
curve detector's synthesised curve should match curved edges among its top images.

A unit answers at every position, so "how much does this image excite the unit" needs a
reduction: the max over positions (anywhere in the image, the default), the mean, or the
centre. With `crop`, each top image is cut down to a crop × crop window around the
position where the unit peaked (its map position mapped back to input pixels), which shows
the part of the image that did the exciting.

    indices, activations, crops = top_examples(model, "relu2:5", images, k=8, crop=12)

`top_windows` returns where those windows lie, and `cut_windows` cuts the same windows out of
anything aligned with the images (a mask of which pixels are in focus, say).
"""
from __future__ import annotations

import torch

from course.analysis.units import parse_unit, record_activations, select_unit


def top_examples(model, unit: str, images: torch.Tensor, k: int = 8, reduce: str = "max", crop: int | None = None):
    """The k images with the largest responses: (indices (k,), activations (k,), images or crops).

    Ties are broken by the lower index. Returns images (k, C, H, W), or crops (k, C, crop, crop)
    around each image's peak position (the centre for reduce="center"; windows are shifted to
    stay inside the image).
    """
    if crop is None:
        order, responses, _ = top_windows(model, unit, images, k=k, reduce=reduce)
        return order, responses, images[order]
    order, responses, windows = top_windows(model, unit, images, k=k, reduce=reduce, crop=crop)
    return order, responses, cut_windows(images[order], windows, crop)


def top_windows(model, unit: str, images: torch.Tensor, k: int = 8, reduce: str = "max", crop: int = 1):
    """Like `top_examples`, but returns where the windows lie instead of cutting them:
    (indices (k,), activations (k,), windows [(top, left)] of size crop × crop in input pixels).

    Use `cut_windows` to cut the same windows out of anything aligned with the images (a mask,
    a label map), so that a crop of the image and a crop of its mask show the same place.
    """
    layer, channel = parse_unit(unit)
    maps = record_activations(model, images, [layer])[layer]
    responses = select_unit(maps, unit, reduce)
    k = min(k, len(images))
    order = torch.sort(responses, descending=True, stable=True).indices[:k]
    height, width = images.shape[-2:]
    if not 1 <= crop <= min(height, width):
        raise ValueError(f"crop must be between 1 and the image size {min(height, width)}, got {crop}")
    windows = [_window_corner(_peak_position(maps[i, channel], reduce), maps.shape[-2:], (height, width), crop)
               for i in order.tolist()]
    return order, responses[order], windows


def cut_windows(images: torch.Tensor, windows, crop: int) -> torch.Tensor:
    """images (k, ..., H, W) and k windows (top, left) -> (k, ..., crop, crop)."""
    return torch.stack([image[..., top:top + crop, left:left + crop] for image, (top, left) in zip(images, windows)])


def _peak_position(channel_map, reduce):
    """(row, col) in the map: its centre for reduce='center', else where it is largest."""
    h, w = channel_map.shape
    if reduce == "center":
        return h // 2, w // 2
    flat = int(channel_map.flatten().argmax())
    return flat // w, flat % w


def _window_corner(position, map_size, image_size, crop):
    """(top, left) of the crop × crop window centred on a map position, kept inside the image."""
    height, width = image_size
    centre_y = (position[0] + 0.5) * height / map_size[0] - 0.5  # map cell centre in input pixels
    centre_x = (position[1] + 0.5) * width / map_size[1] - 0.5
    top = min(max(round(centre_y - (crop - 1) / 2), 0), height - crop)
    left = min(max(round(centre_x - (crop - 1) / 2), 0), width - crop)
    return top, left
