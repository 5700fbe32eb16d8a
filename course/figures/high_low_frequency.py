"""Figures for lesson 09 (high-low frequency detectors).

Colours: the high-frequency factor is always red (PALETTE["kernel"]), the low-frequency factor
always blue (PALETTE["signal"]); signed maps use the diverging map with white at zero.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.patches import Circle, Rectangle

from course.runtime.style import DIVERGING, PALETTE, SEQUENTIAL

HF_COLOUR, LF_COLOUR = PALETTE["kernel"], PALETTE["signal"]


def _blank(ax):
    ax.set_xticks([])
    ax.set_yticks([])


def _angle_text(angle_deg: float) -> str:
    return "none (silent)" if math.isnan(angle_deg) else f"{round(angle_deg) % 360:.0f}°"


def plot_tuning_heatmaps(tunings, title: str, ncols: int = 5):
    """Each unit's response over boundary orientation (x) × frequency ratio (y), divided by the unit's
    largest response so that every panel spans 0..1."""
    rows = math.ceil(len(tunings) / ncols)
    fig, axes = plt.subplots(rows, ncols, figsize=(3.3 * ncols, 2.9 * rows + 1.0), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, t) in enumerate(zip(axes.flat, tunings)):
        ax.axis("on")
        r = np.asarray(t.responses, dtype=float).T  # (R, O)
        r = r / r.max() if r.max() > 0 else r
        o, ratios = np.asarray(t.orientations_deg, dtype=float), np.asarray(t.ratios, dtype=float)
        shown = ax.imshow(r, aspect="auto", origin="lower", cmap=SEQUENTIAL, vmin=0, vmax=1,
                          extent=(o[0], o[-1] + (o[1] - o[0]), -0.5, len(ratios) - 0.5))
        ax.set_yticks(range(len(ratios)), [f"{x:g}" for x in ratios])
        ax.set_xticks([0, 90, 180, 270, 360])
        ax.set_title(f"{t.unit}: score {t.score:.2f}\npreferred {_angle_text(t.preferred_deg)}", fontsize=11)
        if i % ncols == 0:
            ax.set_ylabel("frequency ratio")
        if i >= len(tunings) - ncols:
            ax.set_xlabel("orientation (°)")
    fig.colorbar(shown, ax=axes, shrink=0.7, label="response / unit's largest response")
    fig.suptitle(title)
    return fig


def plot_family_compass(angles_deg, lengths, title: str, planted_deg=None):
    """The family's preferred orientations as arrows on a circle (length = relative peak response)."""
    fig = plt.figure(figsize=(6.5, 7.3), layout="constrained")
    ax = fig.add_subplot(projection="polar")
    lengths = np.asarray(lengths, dtype=float)
    lengths = lengths / max(lengths.max(), 1e-12)
    for a, r in zip(angles_deg, lengths):
        ax.annotate("", xy=(math.radians(a), r), xytext=(0, 0),
                    arrowprops=dict(arrowstyle="-|>", color=HF_COLOUR, lw=2.5))
    ax.plot([], [], color=HF_COLOUR, lw=2.5, label="measured preference (length: peak response)")
    if planted_deg is not None:
        ax.plot(np.radians(planted_deg), np.full(len(planted_deg), 1.05), "o", color=PALETTE["reference"], ms=9,
                label="planted orientation")
    fig.legend(loc="outside lower center")
    ax.set_ylim(0, 1.12)
    ax.set_yticklabels([])
    ax.set_title(title, pad=18)
    return fig


NEUTRAL_COLOURS = (PALETTE["output"], PALETTE["class1"])  # two factors that are not an HF and an LF one


def plot_factors(channel_factors, frequencies, frequency_responses, hf_index: int, title: str,
                 planted=None, channel_labels=None, names=("HF factor", "LF factor"), colours=None):
    """Left: the two non-negative channel factors (bars; planted values as outlines). Right: their
    frequency tuning (response to gratings averaged over orientation). names and colours are for
    (factor hf_index, the other): HF red and LF blue (the default), `NEUTRAL_COLOURS` when they are not HF and LF."""
    colours = colours or (HF_COLOUR, LF_COLOUR)
    channel_factors = np.asarray(channel_factors, dtype=float)
    responses = np.asarray(frequency_responses, dtype=float)
    lf_index = 1 - hf_index
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.2))
    c = np.arange(channel_factors.shape[1])
    width = 0.4
    for offset, index, colour, name in ((-width / 2, hf_index, colours[0], names[0]),
                                        (width / 2, lf_index, colours[1], names[1])):
        left.bar(c + offset, channel_factors[index], width, color=colour, label=name)
    if planted is not None:
        for offset, vector in ((-width / 2, planted[0]), (width / 2, planted[1])):
            left.bar(c + offset, np.asarray(vector, dtype=float), width, fill=False, edgecolor="black", lw=1.5)
        left.add_patch(Rectangle((0, 0), 0, 0, fill=False, edgecolor="black", lw=1.5, label="planted (outline)"))
    left.set_xticks(c, channel_labels if channel_labels is not None else [str(i) for i in c],
                    rotation=0 if len(c) <= 10 else 90)
    left.set_xlabel("early-layer channel")
    left.set_ylabel("factor weight (unit norm)")
    left.set_title("Channel factors (non-negative)")
    left.legend()
    for index, colour, name in ((hf_index, colours[0], names[0]), (lf_index, colours[1], names[1])):
        right.plot(frequencies, responses[index] / max(responses[index].max(), 1e-12), "o-", color=colour, lw=2.5,
                   label=name)
    right.set_xscale("log")
    right.set_xticks(list(frequencies), [f"{f:g}" for f in frequencies])
    right.minorticks_off()
    right.set_xlabel("grating frequency (cycles / pixel, log scale)")
    right.set_ylabel("response / the factor's largest")
    right.set_title("Frequency tuning, averaged over orientation")
    right.legend()
    fig.suptitle(title)
    return fig


def plot_spatial_factors(spatial, orientations_deg, hf_index: int, title: str, max_members: int = 8,
                         names=("HF factor", "LF factor"), colours=None):
    """Row 1: where each member uses the HF factor; row 2: the LF factor (signed, shared colour scale).
    names, colours: as in `plot_factors`."""
    colours = colours or (HF_COLOUR, LF_COLOUR)
    spatial = np.asarray(spatial, dtype=float)
    angles = np.round(np.asarray(orientations_deg, dtype=float)) % 360
    order = np.argsort(angles, kind="stable")[:max_members]
    limit = max(np.abs(spatial[order][:, :2]).max(), 1e-12)
    n = len(order)
    fig, axes = plt.subplots(2, n, figsize=(max(2.0 * n + 1.6, 8.0), 5.0), squeeze=False)
    for col, member in enumerate(order):
        for row, (index, name) in enumerate(((hf_index, names[0]), (1 - hf_index, names[1]))):
            ax = axes[row, col]
            shown = ax.imshow(spatial[member, index], cmap=DIVERGING, vmin=-limit, vmax=limit)
            _blank(ax)
            if row == 0:
                ax.set_title(f"{angles[member]:.0f}°")
            if col == 0:
                ax.set_ylabel(name.replace(" (", "\n("), color=colours[row])
    fig.colorbar(shown, ax=axes, shrink=0.8, label="weight (+ excites, − inhibits)")
    fig.suptitle(title)
    return fig


def plot_downstream(weights, orientations_deg, rows: dict, title: str, others_mean_abs: float | None = None):
    """Weights from the family's members (x: preferred orientation) to a few later units (one line each);
    optionally dashed lines at ± the mean |weight| of the layer's other units, for scale."""
    angles = np.round(np.asarray(orientations_deg, dtype=float)) % 360
    order = np.argsort(angles, kind="stable")
    fig, ax = plt.subplots(figsize=(10, 5))
    colours = (PALETTE["output"], PALETTE["class1"], PALETTE["reference"], PALETTE["signal"])
    for (name, row), colour in zip(rows.items(), colours):
        ax.plot(angles[order], np.asarray(weights[row], dtype=float)[order], "o-", lw=2.5, ms=8, color=colour,
                label=name)
    ax.axhline(0, color="black", lw=0.8)
    if others_mean_abs is not None:
        for sign in (1, -1):
            ax.axhline(sign * others_mean_abs, color=PALETTE["reference"], ls="--", lw=1.5,
                       label="± mean |weight| of the other units" if sign == 1 else None)
    ax.set_xticks([0, 90, 180, 270, 360])
    ax.set_xlim(-10, 370)
    ax.set_xlabel("preferred boundary orientation of the family member (°)")
    ax.set_ylabel("weight to the later unit")
    ax.set_title(title)
    ax.legend()
    return fig


def _arrow(ax, centre, angle_deg, length, colour):
    """An arrow from the image centre towards angle θ (y up on screen, so rows go the other way)."""
    dx, dy = length * math.cos(math.radians(angle_deg)), -length * math.sin(math.radians(angle_deg))
    arrow = ax.annotate("", xy=(centre + dx, centre + dy), xytext=(centre, centre),
                        arrowprops=dict(arrowstyle="-|>", color=colour, lw=2.5, mutation_scale=22))
    arrow.arrow_patch.set_path_effects([patheffects.Stroke(linewidth=5, foreground="white"), patheffects.Normal()])


def plot_feature_visualisations(images, units, angles_deg, ratios, radius: float, title: str):
    """One synthesised image per unit, with the receptive-field disc (dashed) and an arrow towards the
    unit's preferred orientation: the side where its fine texture should be."""
    images = np.asarray(images, dtype=float).transpose(0, 2, 3, 1)
    n = len(images)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 5.0), squeeze=False, layout="constrained")
    size = images.shape[1]
    centre = (size - 1) / 2
    for ax, image, unit, angle, ratio in zip(axes[0], images, units, angles_deg, ratios):
        ax.imshow(np.clip(image, 0, 1), interpolation="nearest")
        ax.add_patch(Circle((centre, centre), radius, fill=False, ls="--", lw=2, color="black",
                            path_effects=[patheffects.Stroke(linewidth=4, foreground="white"), patheffects.Normal()]))
        _arrow(ax, centre, angle, radius, "black")
        ax.set_title(f"{unit}, prefers {_angle_text(angle)}\nfine detail: arrow side / other = {ratio:.1f}")
        _blank(ax)
    fig.suptitle(title)
    return fig


def plot_dataset_examples(crops_by_unit: dict, activations_by_unit: dict, mixed_by_unit: dict, title: str):
    """One row per unit: its top windows from the data, each titled with the activation and whether the
    window holds both in-focus and blurred pixels (a focus boundary)."""
    rows, cols = len(crops_by_unit), max(len(c) for c in crops_by_unit.values())
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols + 1.4, 2.3 * rows + 0.9), squeeze=False)
    for ax in axes.flat:
        _blank(ax)
    for row, unit in enumerate(crops_by_unit):
        crops = np.asarray(crops_by_unit[unit], dtype=float).transpose(0, 2, 3, 1)
        for col, (crop, value, mixed) in enumerate(zip(crops, activations_by_unit[unit], mixed_by_unit[unit])):
            ax = axes[row, col]
            ax.imshow(np.clip(crop, 0, 1), interpolation="nearest")
            ax.set_title(f"{float(value):.1f}" + (" · focus edge" if mixed else ""), fontsize=11)
            for spine in ax.spines.values():
                spine.set_color(HF_COLOUR if mixed else PALETTE["reference"])
                spine.set_linewidth(2.5)
        axes[row, 0].set_ylabel(unit)
    fig.suptitle(title)
    return fig
