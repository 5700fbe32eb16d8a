"""Figures for the deep conv nets lesson: the feature hierarchy, receptive fields, cells, CNN vs MLP.

Colours keep one meaning in this lesson: the CNN in the kernel colour and the MLP in the
signal colour of `course.runtime.style.PALETTE` (solid bars: pixels in place; hatched: pixels
shuffled); the simple cell in class-0 blue and the complex cell in class-1 orange; the
receptive field computed by formula is always a red dashed box. Signed maps (weights)
use the diverging colour map with white at zero. Every function returns a Figure of fixed size.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.patches import Patch, Rectangle

from course.runtime.style import DIVERGING, PALETTE, SEQUENTIAL

MODEL_COLOURS = {"CNN": PALETTE["kernel"], "MLP": PALETTE["signal"]}
CELL_COLOURS = {"simple": PALETTE["class0"], "complex": PALETTE["class1"]}
CELL_STYLES = {"simple": dict(marker="o", linestyle="-", linewidth=4, markersize=9),
               "complex": dict(marker="s", linestyle="--", linewidth=2.5, markersize=6)}  # both visible where equal
FIELD_COLOUR = PALETTE["kernel"]


def _image(ax, image, title, cmap="gray", **kwargs):
    shown = ax.imshow(np.asarray(image), cmap=cmap, **kwargs)
    ax.set(title=title, xticks=[], yticks=[])
    return shown


def _field_box(ax, rows, cols, label=None):
    """Outline input rows/cols (first, last) as the formula's receptive field."""
    ax.add_patch(Rectangle((cols[0] - 0.5, rows[0] - 0.5), cols[1] - cols[0] + 1, rows[1] - rows[0] + 1,
                           fill=False, edgecolor=FIELD_COLOUR, linewidth=2.5, linestyle="--", label=label))


def plot_shapes_examples(images, labels, classes, permuted_images):
    """A few training images per class (top) and the same images with their pixels shuffled (bottom)."""
    count = len(images)
    fig, axes = plt.subplots(2, count, figsize=(2.1 * count, 5))
    for i in range(count):
        _image(axes[0, i], images[i, 0], classes[int(labels[i])], vmin=0, vmax=1)
        _image(axes[1, i], permuted_images[i, 0], "shuffled", vmin=0, vmax=1)
    axes[0, 0].set_ylabel("pixels in place")
    axes[1, 0].set_ylabel("fixed shuffle")
    fig.suptitle("The shapes data set (32x32, grey): one class per column; below, one fixed pixel shuffle")
    return fig


def plot_hierarchy(image, feature_maps, fields, per_block: int = 4):
    """An input image and the strongest feature maps after each conv/ReLU/pool block.

    feature_maps: list of (C, H, W) arrays, one per block; fields: the receptive-field size
    (pixels) of a unit after each block.
    """
    blocks = len(feature_maps)
    fig = plt.figure(figsize=(15, 7.5))
    grid = fig.add_gridspec(per_block, blocks + 1, width_ratios=[1.6] + [1] * blocks)
    ax = fig.add_subplot(grid[:, 0])
    _image(ax, image, "input (32x32)", vmin=0, vmax=1)
    for b, maps in enumerate(feature_maps):
        maps = np.asarray(maps)
        strongest = np.argsort(-maps.reshape(len(maps), -1).max(axis=1))[:per_block]
        for row, channel in enumerate(strongest):
            ax = fig.add_subplot(grid[row, b + 1])
            title = (f"block {b + 1}: {maps.shape[1]}x{maps.shape[2]} maps\nunit sees {fields[b]}x{fields[b]} px\n"
                     f"channel {channel}") if row == 0 else f"channel {channel}"
            _image(ax, maps[channel], title, cmap=SEQUENTIAL)
    fig.suptitle("Feature maps of one image after each conv -> ReLU -> 2x2 max-pool block (4 strongest channels;"
                 " bright = active)")
    return fig


def plot_first_layer_filters(weights):
    """The first conv layer's kernels (O, 1, k, k) as small signed images with one shared colour bar."""
    weights = np.asarray(weights)[:, 0]
    limit = np.abs(weights).max()
    fig, axes = plt.subplots(1, len(weights), figsize=(2 * len(weights) + 1.5, 3))
    for i, ax in enumerate(axes):
        shown = _image(ax, weights[i], f"filter {i}", cmap=DIVERGING, norm=TwoSlopeNorm(0, -limit, limit))
    fig.colorbar(shown, ax=axes, shrink=0.8, label="weight")
    fig.suptitle("First-layer 3x3 filters of the trained CNN (red positive, blue negative)")
    return fig


def plot_receptive_fields(table, twin_gradient, trained_gradient, example, rows, cols):
    """Receptive-field size per layer, and two gradient footprints with the formula's box.

    table: list of (layer name, size); twin_gradient, trained_gradient: (H, W) |gradient| maps of
    one output unit; example: the input image the trained net saw; rows, cols: the box.
    """
    fig = plt.figure(figsize=(16, 5.5))
    grid = fig.add_gridspec(1, 3, width_ratios=[1.3, 1, 1])
    ax = fig.add_subplot(grid[0])
    names, sizes = zip(*table)
    ax.bar(range(len(sizes)), sizes, color=FIELD_COLOUR)
    for i, size in enumerate(sizes):
        ax.text(i, size + 0.4, str(size), ha="center", fontsize=11)
    ax.set(xticks=range(len(sizes)), title="receptive field by formula", ylabel="size (input pixels)",
           xlabel="layer", ylim=(0, max(sizes) * 1.15))
    ax.set_xticklabels(names, rotation=30, ha="right")
    ax = fig.add_subplot(grid[1])
    shown = _image(ax, twin_gradient > 0, "non-zero gradient of one top unit\n(same geometry, positive weights)",
                   cmap="Greys", vmin=0, vmax=1.4)
    _field_box(ax, rows, cols, "formula")
    ax.legend(handles=[Patch(color="#595959", label="gradient != 0"),
                       Patch(fill=False, edgecolor=FIELD_COLOUR, linestyle="--", linewidth=2, label="formula")],
              loc="lower center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    ax = fig.add_subplot(grid[2])
    ax.imshow(np.asarray(example), cmap="gray", vmin=0, vmax=1, alpha=0.35)
    trained = np.asarray(trained_gradient)
    shown = ax.imshow(np.ma.masked_equal(trained, 0), cmap=SEQUENTIAL)
    ax.set(title="trained net, one image: |gradient|\n(max pools pass it to winners only)", xticks=[], yticks=[])
    _field_box(ax, rows, cols)
    fig.colorbar(shown, ax=ax, shrink=0.8, label="|d unit / d pixel|")
    fig.suptitle("Receptive fields: the formula's box is exactly where one unit's gradient can be non-zero")
    return fig


def plot_simple_complex(stimuli, weights, angles, orientation, offsets, shift, preferred):
    """Oriented-bar stimuli, the filter, and the orientation and shift tuning of both cells.

    stimuli: list of (title, image); orientation / shift: {"simple": responses, "complex": responses},
    each normalised to the response at the preferred angle and zero offset.
    """
    fig = plt.figure(figsize=(16, 8))
    grid = fig.add_gridspec(2, len(stimuli) + 1, height_ratios=[1, 1.5])
    limit = np.abs(np.asarray(weights)).max()
    ax = fig.add_subplot(grid[0, 0])
    _image(ax, weights, f"filter (prefers {preferred:g} deg)", cmap=DIVERGING, norm=TwoSlopeNorm(0, -limit, limit))
    for i, (title, image) in enumerate(stimuli, start=1):
        _image(fig.add_subplot(grid[0, i]), image, title, vmin=0, vmax=1)
    half = (len(stimuli) + 1) // 2
    ax = fig.add_subplot(grid[1, :half])
    for cell, values in orientation.items():
        ax.plot(angles, values, color=CELL_COLOURS[cell], label=f"{cell} cell", **CELL_STYLES[cell])
    ax.axvline(preferred, color=PALETTE["reference"], linestyle=":", label="filter angle")
    ax.set(title="orientation tuning (bar through the centre)", xlabel="bar angle (degrees)",
           ylabel="response / preferred response")
    ax.legend()
    ax = fig.add_subplot(grid[1, half:])
    for cell, values in shift.items():
        ax.plot(offsets, values, color=CELL_COLOURS[cell], label=f"{cell} cell", **CELL_STYLES[cell])
    ax.set(title=f"position tuning (bar at {preferred:g} deg, moved sideways)", xlabel="bar offset (pixels)",
           ylabel="response / response at offset 0")
    ax.legend()
    fig.suptitle("Simple cell = one oriented filter at one place; complex cell = max of simple cells nearby")
    return fig


def plot_four_way(accuracies, curves, parameters):
    """Test accuracy of CNN and MLP, on pixels in place and shuffled: bars, and curves per epoch.

    accuracies / curves: {(model, "in place" or "shuffled"): final accuracy / list per epoch};
    parameters: {model: parameter count}.
    """
    fig, (bars, lines) = plt.subplots(1, 2, figsize=(15, 5.5), width_ratios=[1, 1.3])
    order = [("CNN", "in place"), ("MLP", "in place"), ("CNN", "shuffled"), ("MLP", "shuffled")]
    for i, key in enumerate(order):
        model, pixels = key
        bars.bar(i, accuracies[key], color=MODEL_COLOURS[model], hatch="//" if pixels == "shuffled" else None,
                 edgecolor="white")
        bars.text(i, accuracies[key] + 0.01, f"{accuracies[key]:.3f}", ha="center", fontsize=12)
    bars.axhline(0.2, color=PALETTE["reference"], linestyle=":", label="chance (5 classes)")
    bars.set(xticks=range(4), ylim=(0, 1.1), ylabel="test accuracy", title="after training")
    bars.set_xticklabels([f"{m}\n{p}" for m, p in order])
    bars.legend(loc="upper right")
    for key, values in curves.items():
        model, pixels = key
        lines.plot(range(1, len(values) + 1), values, color=MODEL_COLOURS[model],
                   linestyle="--" if pixels == "shuffled" else "-", linewidth=2.5,
                   label=f"{model} ({parameters[model]:,} weights), pixels {pixels}")
    lines.set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1.05), title="test accuracy per epoch")
    lines.legend(loc="lower right")
    fig.suptitle("A CNN beats an MLP of the same size, until the pixels are shuffled")
    return fig
