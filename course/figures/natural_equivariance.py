"""Figures for lesson 08: families of units laid out by angle, the rotation test, and equivariant circuits."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from course.runtime.style import DIVERGING, PALETTE


def rgb_weights(weights: torch.Tensor, per_unit: bool = False) -> np.ndarray:
    """(U, 3, k, k) first-layer weights -> (U, k, k, 3) colours: grey 0.5 is zero.

    One shared scale (weak units look faint), or per_unit: each unit scaled to its own largest weight."""
    scale = weights.abs().amax(dim=(1, 2, 3), keepdim=True) if per_unit else weights.abs().max()
    scale = scale.clamp_min(1e-12)
    return (0.5 + 0.5 * weights / scale).clamp(0, 1).permute(0, 2, 3, 1).numpy()


def family_rows_figure(rows: list[tuple[str, np.ndarray, list[str]]], title: str, ncols: int = 8,
                       cell: float = 1.45):
    """One row of pictures per family: rows = [(row label, images (U, h, w, 3), per-image titles)]."""
    fig, axes = plt.subplots(len(rows), ncols, figsize=(cell * ncols + 1.6, cell * len(rows) + 1.0), squeeze=False)
    for r, (label, images, titles) in enumerate(rows):
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(images):
                ax.imshow(images[c], interpolation="nearest")
                ax.set_title(titles[c], fontsize=11)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(label, fontsize=12)
    fig.suptitle(title)
    return fig


def tuning_curves_figure(angles: torch.Tensor, curves: torch.Tensor, labels: list[str], title: str,
                         xlabel: str = "angle of the turned stimulus (°)"):
    """Responses against angle, one line per unit, coloured around the colour wheel by the angle of its peak."""
    fig, ax = plt.subplots(figsize=(10, 4.8))
    preferred = angles[curves.argmax(dim=1)].numpy()
    colours = plt.get_cmap("hsv")(preferred / 360.0)
    for curve, label, colour in zip(curves, labels, colours):
        ax.plot(angles.numpy(), curve.numpy(), color=colour, lw=2, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean response at the centre")
    ax.set_xticks(np.arange(0, 361, 45))
    ax.set_title(title)
    ax.legend(ncol=2, fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def rotation_test_figure(panels: list[tuple[str, torch.Tensor, torch.Tensor, float]]):
    """Scatter of the first unit's response to each stimulus vs the other unit's response to it turned.

    panels: [(title, first responses (k,), other responses to turned stimuli (k,), correlation)]."""
    fig, axes = plt.subplots(1, len(panels), figsize=(max(4.6 * len(panels), 9.2), 4.6), squeeze=False)
    for ax, (title, first, other, r) in zip(axes[0], panels):
        top = float(max(first.max(), other.max())) * 1.05
        ax.plot([0, top], [0, top], color=PALETTE["reference"], ls="--", lw=1.5, label="other = first")
        ax.scatter(first.numpy(), other.numpy(), s=22, color=PALETTE["signal"], alpha=0.8, label=f"stimuli, r = {r:.2f}")
        ax.set_xlabel("first unit, original stimulus")
        ax.set_ylabel("other unit, turned stimulus")
        ax.set_title(title, fontsize=12)
        ax.legend(loc="upper left", fontsize=10)
    fig.suptitle("The rotation test: turn what excites one member; does the other answer?")
    return fig


def relative_profile_figure(panels: list[tuple[str, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]):
    """Weight from a family member to a downstream unit against their relative orientation.

    panels: [(title, relative angles of all pairs (P,), weights of all pairs (P,), bin centres (B,), bin means (B,))]."""
    fig, axes = plt.subplots(1, len(panels), figsize=(max(6.0 * len(panels), 9.0), 4.6), squeeze=False)
    for ax, (title, relative, values, centres, means) in zip(axes[0], panels):
        ax.axhline(0, color=PALETTE["reference"], lw=1)
        ax.scatter(relative.numpy(), values.numpy(), s=30, color=PALETTE["signal"], alpha=0.7, label="one pair",
                   zorder=3)
        closed = np.append(centres.numpy(), 360.0)
        ax.plot(closed, np.append(means.numpy(), means[0].item()), color=PALETTE["kernel"], lw=2.5, marker="o",
                label="mean per 45° bin")
        ax.set_xticks(np.arange(0, 361, 90))
        ax.set_xlabel("member angle − downstream unit angle (°)")
        ax.set_ylabel("weight (centre tap)")
        ax.set_title(title, fontsize=12)
        ax.legend(fontsize=10)
    fig.suptitle("Equivariant → equivariant: weight against relative orientation")
    return fig


def circuit_kernels_figure(rows: list[tuple[str, torch.Tensor, list[float]]]):
    """3×3 (or k×k) kernels of a circuit, one row per circuit, arranged by member angle, shared colour scale.

    rows: [(row label, kernels (U, k, k), member angles)]."""
    ncols = max(len(k) for _, k, _ in rows)
    scale = max(k.abs().max().item() for _, k, _ in rows)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(1.5 * ncols + 2.2, 1.7 * len(rows) + 1.0), squeeze=False)
    for r, (label, kernels, angles) in enumerate(rows):
        for c in range(ncols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(kernels):
                image = ax.imshow(kernels[c].numpy(), cmap=DIVERGING, vmin=-scale, vmax=scale)
                ax.set_title(f"{angles[c]:.0f}°", fontsize=11)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(label, fontsize=11)
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    fig.suptitle("Invariant ↔ equivariant: one pattern, turned to each member's angle")
    return fig
