"""Figures of lesson 10: the scenes, the weights of the last conv layer as colour pictures,
and the banding scores of every variant with their spread over seeds."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from course.runtime.style import PALETTE

# One colour per variant, the same in every figure of the lesson.
VARIANT_COLOURS = {"baseline": PALETTE["class0"], "rotated": PALETTE["class1"], "flatten": PALETTE["output"],
                   "avg_x": PALETTE["kernel"], "shape_only": PALETTE["reference"]}  # grey: the control


def weight_pictures_figure(pictures: dict[str, torch.Tensor], scores: dict[str, float], layer: str):
    """One row per variant: the units' kernels (units, kh, kw, 3) as NMF colour pictures.

    scores: the variant's banding score (shown next to its name).
    """
    variants = list(pictures)
    units = max(len(p) for p in pictures.values())
    fig, axes = plt.subplots(len(variants), units, figsize=(1.25 * units + 1.6, 1.45 * len(variants) + 1.0),
                             squeeze=False)
    for row, variant in enumerate(variants):
        for column in range(units):
            ax = axes[row, column]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_color(VARIANT_COLOURS.get(variant, "black"))
                spine.set_linewidth(2)
            if column < len(pictures[variant]):
                ax.imshow(pictures[variant][column].numpy(), interpolation="nearest")
        axes[row, 0].set_ylabel(f"{variant}\nband {scores[variant]:+.2f}", rotation=0, ha="right", va="center",
                                color=VARIANT_COLOURS.get(variant, "black"))
    fig.suptitle(f"{layer}: spatial part of each unit's weights (every channel's mean removed),\n"
                 "input channels folded into 3 NMF colours, grey = 0; stripes across = bands")
    return fig


def banding_scores_figure(panels: dict[str, dict[str, list[float]]], threshold: float | None = None):
    """Banding score per variant, one panel per layer: a dot per seed, a bar at the mean, the range;
    with `threshold`, dashed lines at ±threshold (past them a seed counts as banded).

    panels: {panel title: {variant: [score per seed]}}.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 5.5), sharey=True, squeeze=False)
    for ax, (title, scores) in zip(axes[0], panels.items()):
        for index, (variant, values) in enumerate(scores.items()):
            values = np.asarray(values)
            colour = VARIANT_COLOURS.get(variant, "black")
            ax.bar(index, values.mean(), width=0.6, color=colour, alpha=0.35)
            spread = [[values.mean() - values.min()], [values.max() - values.mean()]]
            ax.errorbar(index + 0.25, values.mean(), yerr=spread, color=colour, capsize=6, lw=2)
            ax.scatter(np.full(len(values), index) + np.linspace(-0.12, 0.12, len(values)), values, color=colour,
                       s=60, zorder=3)
        ax.axhline(0.0, color="black", ls=":", lw=1.5)
        if threshold is not None:
            for sign in (1, -1):
                ax.axhline(sign * threshold, color=PALETTE["reference"], ls="--", lw=1.2,
                           label=f"±{threshold:g}: banded past these" if sign == 1 else None)
            ax.legend(loc="lower right")
        ax.set_xticks(range(len(scores)), [f"{v}\nmean {np.mean(s):+.2f}" for v, s in scores.items()])
        for label, variant in zip(ax.get_xticklabels(), scores):
            label.set_color(VARIANT_COLOURS.get(variant, "black"))
        ax.set_xlabel("variant (dots: seeds, bar: mean, whisker: range)")
        ax.set_title(title)
    axes[0, 0].set_ylabel("banding = horizontal − vertical fraction")
    fig.suptitle("Weight banding per variant and layer: > 0 horizontal bands, < 0 vertical bands")
    return fig
