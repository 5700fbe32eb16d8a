"""Figures for the circuits lessons: weight pictures, image grids, tuning curves and heatmaps.

Shared by lessons 08-10 so that the same kind of picture looks the same everywhere:
- `weight_picture_grid`: the RGB weight pictures of `course.analysis.weight_pictures`, with a
  colour key (red/green/blue = factors 1/2/3 excite, cyan/magenta/yellow = they inhibit, grey = 0);
- `image_grid`: stimuli, feature visualisations or dataset examples, one per panel;
- `tuning_curve_figure`: responses against a stimulus parameter, one line per unit, the
  preferred angle marked when given;
- `tuning_heatmap`: responses over two parameters, with a colour bar.
Every function returns a Figure of a fixed size (set by the number of panels); the lesson
saves it with `lesson.save(fig, name)`.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Patch

from course.runtime.style import PALETTE, SEQUENTIAL

UNIT_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_COLOUR_KEY = (("factor 1 +", (1.0, 0.5, 0.5)), ("factor 1 −", (0.0, 0.5, 0.5)),
               ("factor 2 +", (0.5, 1.0, 0.5)), ("factor 2 −", (0.5, 0.0, 0.5)),
               ("factor 3 +", (0.5, 0.5, 1.0)), ("factor 3 −", (0.5, 0.5, 0.0)), ("zero", (0.5, 0.5, 0.5)))


def weight_picture_grid(rgb, titles=None, ncols=8, title="Weights as pictures: input channels as 3 NMF factors"):
    """rgb (N, kh, kw, 3) in [0, 1] -> a grid of N pictures with a colour key below."""
    rgb = _numpy(rgb)
    fig, axes = _panels(len(rgb), ncols, title, extra_bottom=0.9)
    for ax, picture, label in zip(axes, rgb, _labels(titles, len(rgb))):
        ax.imshow(picture, interpolation="nearest")
        ax.set_title(label)
    key = [Patch(facecolor=colour, edgecolor="black", label=name) for name, colour in _COLOUR_KEY]
    fig.legend(handles=key, loc="outside lower center", ncol=4, frameon=False)
    return fig


def image_grid(images, titles=None, ncols=8, title="Images"):
    """images (N, C, H, W) with C = 1 or 3, or (N, H, W, 3), values in [0, 1] -> a grid of panels."""
    images = _numpy(images)
    if images.ndim == 4 and images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3):
        images = images.transpose(0, 2, 3, 1)
    fig, axes = _panels(len(images), ncols, title)
    for ax, image, label in zip(axes, images, _labels(titles, len(images))):
        if image.shape[-1] == 1:
            ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        else:
            ax.imshow(np.clip(image, 0, 1), interpolation="nearest")
        ax.set_title(label)
    return fig


def tuning_curve_figure(values, curves, xlabel="orientation (degrees)", ylabel="response",
                        title="Tuning curves", preferred=None, period=None):
    """values (K,) and curves {label: responses (K,)} (or one tensor) -> one line per unit.

    preferred: {label: angle} marks each unit's preferred angle with a dashed line of its
    colour; period: the x axis spans [0, period] with ticks every period/4.
    """
    values = _numpy(values)
    curves = curves if isinstance(curves, dict) else {"response": curves}
    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    for index, (label, responses) in enumerate(curves.items()):
        colour = PALETTE["output"] if len(curves) == 1 else UNIT_COLOURS[index % len(UNIT_COLOURS)]
        ax.plot(values, _numpy(responses), "-o", color=colour, linewidth=2, markersize=4, label=label)
        if preferred and label in preferred:
            ax.axvline(preferred[label], color=colour, linestyle="--", linewidth=1.5)
    if period:
        ax.set_xlim(0, period)
        ax.set_xticks(np.linspace(0, period, 5))
    ax.axhline(0, color=PALETTE["reference"], linewidth=0.8)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(loc="best", title="dashed: preferred angle" if preferred else None)
    return fig


def tuning_heatmap(responses, values_a, values_b, xlabel, ylabel, title="Tuning heatmap",
                   colorbar_label="response"):
    """responses (Ka, Kb) over two parameters -> heatmap: values_b along x, values_a along y."""
    responses = _numpy(responses)
    fig, ax = plt.subplots(figsize=(9, 5.5), layout="constrained")
    image = ax.imshow(responses, cmap=SEQUENTIAL, aspect="auto", origin="lower", interpolation="nearest")
    ax.set_xticks(*_ticks(values_b))
    ax.set_yticks(*_ticks(values_a))
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    fig.colorbar(image, ax=ax, label=colorbar_label)
    return fig


def _panels(count, ncols, title, extra_bottom=0.0):
    """A fixed-size grid of image panels without axes ticks; unused panels hidden."""
    ncols = max(1, min(ncols, count))
    nrows = math.ceil(count / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.9 * ncols + 0.5, 2.0 * nrows + 0.7 + extra_bottom),
                             squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes.flat[count:]:
        ax.axis("off")
    fig.suptitle(title)
    return fig, list(axes.flat[:count])


def _labels(titles, count):
    return list(titles) if titles is not None else [""] * count


def _ticks(values, most=9):
    """Tick positions and labels for at most `most` of the values."""
    values = _numpy(values)
    step = max(1, math.ceil(len(values) / most))
    positions = np.arange(0, len(values), step)
    return positions, [f"{values[i]:g}" for i in positions]


def _numpy(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
