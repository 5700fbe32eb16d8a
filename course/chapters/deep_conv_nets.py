"""Lesson 05: simple and complex cells, and the receptive fields of a conv / pool stack.

Simple and complex cells (Hubel and Wiesel), built from one oriented filter and a max.

A *simple cell* here is one oriented filter at one place, followed by a ReLU: it answers
a bar of the right orientation at the right position, and little else. A *complex cell*
takes the maximum of simple cells with the same filter over a small neighbourhood of
positions (max pooling): it keeps the orientation preference but forgets exactly where the
bar was. The stimulus is a bright bar on a dark field that can be rotated and moved
sideways (perpendicular to its length).

Receptive fields: which input pixels one unit of a conv / pool stack can see.

By formula: along one axis, a unit is described by (size, jump, start): it sees `size`
consecutive input pixels, neighbouring units' fields are `jump` pixels apart, and unit 0's
field starts at input index `start` (negative when it reaches into the padding). A layer
with kernel k, stride s, padding p, dilation d turns (size, jump, start) into

    (size + d (k - 1) jump,   jump s,   start - p jump).

By measurement: the gradient of one output unit with respect to the input is non-zero
only on pixels that can change that unit. Max pooling sends the gradient to one winner
per window and ReLU blocks it where a unit is off, so the measurement uses a *geometry
twin* of the network: the same layer shapes, all-positive weights, average instead of max
pooling; then every pixel of the receptive field gets a non-zero gradient.
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn


# ---- simple and complex cells ------------------------------------------------------------------

def oriented_bar(size: int, angle_deg: float, offset: float = 0.0, width: float = 2.0,
                 length: float | None = None) -> torch.Tensor:
    """A bright bar (1) on a dark field (0), (size, size) float64, with soft edges.

    The bar runs through the centre at `angle_deg` (0 = horizontal, counter-clockwise on
    screen), shifted by `offset` pixels perpendicular to its length.
    """
    length = size if length is None else length
    centre = (size - 1) / 2
    rows, cols = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                                indexing="ij")
    x, y = cols - centre, centre - rows  # y up, so positive angles turn counter-clockwise on screen
    theta = math.radians(angle_deg)
    along = x * math.cos(theta) + y * math.sin(theta)
    across = -x * math.sin(theta) + y * math.cos(theta) - offset
    inside_width = (width / 2 + 0.5 - across.abs()).clamp(0, 1)
    inside_length = (length / 2 + 0.5 - along.abs()).clamp(0, 1)
    return inside_width * inside_length


def oriented_filter(size: int = 9, angle_deg: float = 0.0, wavelength: float = 6.0, sigma: float = 2.0) -> torch.Tensor:
    """A zero-mean Gabor-like filter (size, size) float64 that prefers a bar at `angle_deg`.

    Positive along a central stripe at that angle, negative on its two flanks, fading
    with distance from the centre: it answers bright bars of about wavelength / 2 width.
    """
    centre = (size - 1) / 2
    rows, cols = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64),
                                indexing="ij")
    x, y = cols - centre, centre - rows
    theta = math.radians(angle_deg)
    along = x * math.cos(theta) + y * math.sin(theta)
    across = -x * math.sin(theta) + y * math.cos(theta)
    envelope = torch.exp(-(along**2 + across**2) / (2 * sigma**2))
    weights = envelope * torch.cos(2 * math.pi * across / wavelength)
    return weights - weights.mean()


def simple_cell_map(images: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """ReLU(filter correlated with the image) at every position, 'same' padding.

    images: (..., H, W), any number of leading axes; returns the same shape.
    """
    k, (h, w) = weights.shape[-1], images.shape[-2:]
    flat = images.reshape(-1, 1, h, w)
    return F.relu(F.conv2d(flat, weights[None, None], padding=k // 2)).reshape(images.shape)


def simple_cell(images: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The simple cell at the image centre: one oriented filter at one position, then ReLU.

    images: (..., H, W); returns the responses, shape (...).
    """
    centre = images.shape[-1] // 2
    return simple_cell_map(images, weights)[..., centre, centre]


def complex_cell(images: torch.Tensor, weights: torch.Tensor, pool: int = 9) -> torch.Tensor:
    """The complex cell at the image centre: the max of the simple cells in a pool x pool neighbourhood.

    images: (..., H, W); returns the responses, shape (...).
    """
    centre, half = images.shape[-1] // 2, pool // 2
    responses = simple_cell_map(images, weights)
    return responses[..., centre - half:centre + half + 1, centre - half:centre + half + 1].amax(dim=(-2, -1))


def tuning(cell, weights, size: int, angles, offsets) -> torch.Tensor:
    """Responses (len(angles), len(offsets)) of a cell to bars at every angle and offset."""
    bars = torch.stack([torch.stack([oriented_bar(size, a, o) for o in offsets]) for a in angles])
    return cell(bars, weights)


def shift_sensitivity(responses_by_offset: torch.Tensor, offsets, max_shift: float) -> float:
    """1 - (weakest response within +-max_shift pixels) / (response at offset 0).

    0: the cell ignores shifts up to max_shift; 1: some such shift silences it.
    """
    offsets = torch.as_tensor(offsets, dtype=torch.float64)
    centre = responses_by_offset[offsets == 0].item()
    near = responses_by_offset[offsets.abs() <= max_shift]
    return 1.0 - (near.min().item() / centre)


# ---- receptive fields --------------------------------------------------------------------------

def receptive_field(layers) -> tuple[int, int, int]:
    """(size, jump, start) of a unit after `layers`, a list of (kernel, stride, padding, dilation)."""
    # BEGIN SOLUTION
    return layer_receptive_fields(layers)[-1] if layers else (1, 1, 0)
    # END SOLUTION
    # RELEASE: from course.exercises.ex05_deep_conv_nets import receptive_field as yours
    # RELEASE: from course.runtime.yours import yours_or_torch
    # RELEASE: return yours_or_torch(yours, _measured_field, layers)


def layer_receptive_fields(layers) -> list[tuple[int, int, int]]:
    """(size, jump, start) after each layer in turn, by the recurrence in the module docstring.

    (Exercise 05's receptive_field: in the student copy this runs yours once written, and until
    then measures each field through all-ones convolutions instead of computing it.)
    """
    # BEGIN SOLUTION
    size, jump, start = 1, 1, 0
    fields = []
    for kernel, stride, padding, dilation in layers:
        size, jump, start = size + dilation * (kernel - 1) * jump, jump * stride, start - padding * jump
        fields.append((size, jump, start))
    return fields
    # END SOLUTION
    # RELEASE: from course.exercises.ex05_deep_conv_nets import receptive_field as yours
    # RELEASE: from course.runtime.yours import yours_or_torch
    # RELEASE: return [yours_or_torch(yours, _measured_field, layers[:depth]) for depth in range(1, len(layers) + 1)]


# BEGIN SOLUTION
# END SOLUTION
# RELEASE: def _measured_field(layers, length: int = 256) -> tuple[int, int, int]:
# RELEASE:     """(size, jump, start) read off the gradients of two neighbouring units of a 1-D all-ones stack."""
# RELEASE:     x = torch.zeros(1, 1, length, dtype=torch.float64, requires_grad=True)
# RELEASE:     y = x
# RELEASE:     for kernel, stride, padding, dilation in layers:
# RELEASE:         if y.shape[-1] + 2 * padding <= dilation * (kernel - 1) + 1:  # too short to measure here
# RELEASE:             return _measured_field(layers, 2 * length)
# RELEASE:         ones = torch.ones(1, 1, kernel, dtype=torch.float64)
# RELEASE:         y = F.conv1d(y, ones, stride=stride, padding=padding, dilation=dilation)
# RELEASE:     if y.shape[-1] < 2:  # two neighbouring units are needed for the jump
# RELEASE:         return _measured_field(layers, 2 * length)
# RELEASE:     unit = (y.shape[-1] - 1) // 2
# RELEASE:     spans = []
# RELEASE:     for i in (unit, unit + 1):
# RELEASE:         reached = torch.autograd.grad(y[0, 0, i], x, retain_graph=True)[0][0, 0].nonzero()[:, 0]
# RELEASE:         spans.append((int(reached.min()), int(reached.max())))
# RELEASE:     if spans[0][0] == 0 or spans[1][1] == length - 1:  # a field cut off by the ends of the input
# RELEASE:         return _measured_field(layers, 2 * length)
# RELEASE:     (first, last), (next_first, _) = spans
# RELEASE:     jump = next_first - first
# RELEASE:     return last - first + 1, jump, first - unit * jump


def _single(value) -> int:
    """A square layer's setting as one int (the lessons use square kernels, strides, paddings)."""
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            raise ValueError(f"receptive fields here are for square layers, got {value}")
        return int(value[0])
    return int(value)


def layer_geometry(model: nn.Module) -> list[tuple[str, tuple[int, int, int, int]]]:
    """The (name, (kernel, stride, padding, dilation)) of every conv and pool layer, in order."""
    geometry = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            spec = (module.kernel_size, module.stride, module.padding, module.dilation)
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            dilation = getattr(module, "dilation", 1)
            spec = (module.kernel_size, module.stride or module.kernel_size, module.padding, dilation)
        else:
            continue
        geometry.append((name, tuple(_single(v) for v in spec)))
    return geometry


def geometry_twin(model: nn.Module) -> nn.Module:
    """A copy of `model` with every conv weight 1, every bias 0, and max pools made average pools.

    Same layer shapes, so the same receptive fields; but now every path from an input pixel
    to a unit carries a positive weight, so no gradient is lost to a max or a ReLU.
    """
    twin = copy.deepcopy(model)
    for module in twin.modules():
        for child_name, child in module.named_children():
            if isinstance(child, nn.MaxPool2d):
                setattr(module, child_name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding))
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            with torch.no_grad():
                module.weight.fill_(1.0 / module.weight[0].numel())
                if module.bias is not None:
                    module.bias.zero_()
    return twin


def unit_gradient(forward, image: torch.Tensor, channel: int, row: int, col: int) -> torch.Tensor:
    """|d output[channel, row, col] / d image|, summed over input channels: a (H, W) map.

    forward: a function from a batch (1, C, H, W) to feature maps (1, K, H', W').
    """
    image = image.detach().clone().requires_grad_(True)
    output = forward(image[None])
    (gradient,) = torch.autograd.grad(output[0, channel, row, col], image)
    return gradient.abs().sum(dim=0)


def footprint(gradient_map: torch.Tensor, threshold: float = 0.0) -> dict:
    """Where a gradient map is non-zero: its bounding box and how full that box is.

    Returns {"rows": (first, last), "cols": (first, last), "height", "width", "count"}.
    """
    touched = (gradient_map > threshold).nonzero()
    if len(touched) == 0:
        return {"rows": None, "cols": None, "height": 0, "width": 0, "count": 0}
    (r0, c0), (r1, c1) = touched.min(dim=0).values.tolist(), touched.max(dim=0).values.tolist()
    return {"rows": (r0, r1), "cols": (c0, c1), "height": r1 - r0 + 1, "width": c1 - c0 + 1, "count": len(touched)}


def conv_stack(model: nn.Module) -> list[nn.Module]:
    """The model's conv, ReLU and pool modules in the order they run (for models that are one chain)."""
    kinds = (nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.AvgPool2d)
    return [module for module in model.modules() if isinstance(module, kinds)]


def measure_layer_fields(model: nn.Module, in_channels: int, image_size: int) -> list[dict]:
    """Formula against gradient, after every conv and pool layer of a one-chain model.

    For each layer: the formula's (size, jump, start); a unit near the centre of that
    layer's output whose field lies inside the image; the footprint of that unit's
    gradient in the geometry twin (see `geometry_twin`); and whether the footprint is
    exactly the formula's square at the formula's place (undilated layers: every pixel
    of the square is reached).
    """
    twin_stack = conv_stack(geometry_twin(model).double())
    geometry = layer_geometry(model)
    fields = layer_receptive_fields([spec for _, spec in geometry])
    image = torch.ones(in_channels, image_size, image_size, dtype=torch.float64)
    rows, geometric, counts = [], iter(zip(geometry, fields)), {}
    for depth, module in enumerate(twin_stack):
        if isinstance(module, nn.ReLU):
            continue
        (name, spec), (size, jump, start) = next(geometric)
        kind = "conv" if isinstance(module, nn.Conv2d) else "pool"
        counts[kind] = counts.get(kind, 0) + 1
        outputs = _run(twin_stack[:depth + 1], image[None])
        unit = outputs.shape[-1] // 2
        while unit > 0 and start + unit * jump + size > image_size:  # keep the whole field inside
            unit -= 1
        first = start + unit * jump
        measured = footprint(unit_gradient(lambda batch: _run(twin_stack[:depth + 1], batch), image, 0, unit, unit))
        rows.append({
            "layer": name, "label": f"{kind} {counts[kind]}", "kernel, stride, padding, dilation": spec, "size": size, "jump": jump, "start": start,
            "unit": unit, "measured_height": measured["height"], "measured_width": measured["width"],
            "measured_first": measured["rows"][0],
            "exact": (measured["height"] == measured["width"] == size and measured["count"] == size * size
                      and measured["rows"][0] == measured["cols"][0] == first),
        })
    return rows


def _run(modules, batch):
    for module in modules:
        batch = module(batch)
    return batch


def twin_unit_gradient(model: nn.Module, in_channels: int, image_size: int, unit: int) -> torch.Tensor:
    """The (H, W) gradient footprint of top unit (channel 0, unit, unit) in the model's geometry twin.

    The model must have `features(batch)` returning a list of feature maps (as SmallCNN does).
    """
    twin = geometry_twin(model).double()
    image = torch.ones(in_channels, image_size, image_size, dtype=torch.float64)
    return unit_gradient(lambda batch: twin.features(batch)[-1], image, 0, unit, unit)


# ---- picking a unit and an image to look at ----------------------------------------------------

def image_near(test_set, centre: float, seed: int) -> int:
    """Index of a test image whose shape is centred within 3 pixels of (centre, centre); `seed` picks which.

    test_set: a data set with `centres` (N, 2), the (row, col) of each image's shape.
    """
    near = ((test_set.centres - centre).abs().max(dim=1).values <= 3).nonzero()[:, 0]
    if len(near) == 0:
        raise ValueError(f"no test image has its shape within 3 pixels of ({centre}, {centre})")
    return int(near[seed % len(near)])


@torch.no_grad()
def strongest_channel(cnn: nn.Module, image: torch.Tensor, unit: int) -> int:
    """The last block's channel that answers `image` (C, H, W) most strongly at unit (unit, unit)."""
    return int(cnn.features(image[None])[-1][0, :, unit, unit].argmax())
