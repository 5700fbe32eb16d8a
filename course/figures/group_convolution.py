"""Figures for lesson 07 (group convolution): filter banks, rotating feature maps, accuracy and logits vs angle."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from course.runtime.style import DIVERGING, PALETTE, SEQUENTIAL

CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
ROTATION_NAMES = ("0°", "90°", "180°", "270°")


def _image(ax, image, title, cmap=DIVERGING, limit=None):
    image = np.asarray(image, dtype=float)
    limit = limit if limit is not None else max(np.abs(image).max(), 1e-12)
    shown = ax.imshow(image, cmap=cmap, vmin=-limit if cmap == DIVERGING else None,
                      vmax=limit if cmap == DIVERGING else None)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return shown


def plot_filter_bank(copies, group_name: str):
    """A filter's transformed copies (G, k, k) for p4 (4) or p4m (8): the tied filter bank H(u)."""
    copies = np.asarray(copies)
    rows = len(copies) // 4
    fig, axes = plt.subplots(rows, 4, figsize=(10, 2.9 * rows + 0.6), squeeze=False)
    limit = np.abs(copies).max()
    for g, ax in enumerate(axes.flat):
        m, r = divmod(g, 4)
        shown = _image(ax, copies[g], f"g={g}: {'flip, ' if m else ''}rotate {ROTATION_NAMES[r]}", limit=limit)
        if r == 0:
            ax.set_ylabel("flipped" if m else "rotations only")
    fig.colorbar(shown, ax=axes, shrink=0.8, label="weight")
    fig.suptitle(f"One learned filter, {len(copies)} tied copies ({group_name}): the expanded bank H(u)")
    return fig


def plot_rotating_feature_maps(image, rotated_image, maps, rotated_maps):
    """Top: an image and its lifted maps (4, H, W); bottom: the rotated image and its maps."""
    fig, axes = plt.subplots(2, 5, figsize=(14, 6.2))
    limit = max(np.abs(np.asarray(maps)).max(), np.abs(np.asarray(rotated_maps)).max())
    for row, (x, fmap, name) in enumerate(((image, maps, "input x"), (rotated_image, rotated_maps, "rot90(x)"))):
        _image(axes[row, 0], x, name, cmap="gray")
        for g in range(4):
            shown = _image(axes[row, g + 1], fmap[g], f"group axis g={g}", cmap=SEQUENTIAL)
            shown.set_clim(0, limit)
        axes[row, 0].set_ylabel("input" if row == 0 else "input turned 90°")
    fig.colorbar(shown, ax=axes[:, 1:], shrink=0.8, label="response (after ReLU)")
    fig.suptitle("Rotate the input: each map rotates AND moves one step along the group axis (g → g+1)")
    return fig


def plot_logits_vs_angle(angles, gcnn_logits, cnn_logits, classes, true_class: str = "", change_angles=(None, None)):
    """Logits of both models as the input turns through 360°; dashed lines at multiples of 90°.

    change_angles: (G-CNN, CNN) first angle where the predicted class changes, marked with a dotted line."""
    fig, axes = plt.subplots(1, 2, figsize=(14, 6), layout="constrained")
    for ax, logits, name, change in ((axes[0], gcnn_logits, "p4 G-CNN", change_angles[0]),
                                     (axes[1], cnn_logits, "plain CNN", change_angles[1])):
        logits = np.asarray(logits)
        if change is not None:
            ax.axvline(change, color="black", ls=":", lw=2)
            ax.annotate(f"another class wins\nfrom {change:.0f}°", (change, 0.02), xycoords=("data", "axes fraction"),
                        xytext=(6, 0), textcoords="offset points", fontsize=11)
        for c, label in enumerate(classes):
            ax.plot(angles, logits[:, c], color=CLASS_COLOURS[c], lw=2, label=label)
        for a in (0, 90, 180, 270, 360):
            ax.axvline(a, color=PALETTE["reference"], ls="--", lw=1)
        ax.set_xticks([0, 90, 180, 270, 360])
        ax.set_xlabel("rotation of the input (degrees)")
        ax.set_ylabel("logit")
        ax.set_title(name + ("" if change is not None else ": the predicted class never changes"))
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, title="class", loc="outside lower center", ncol=len(classes))
    shown = f"one test {true_class}" if true_class else "one test image"
    fig.suptitle(f"Logits as {shown} turns: the G-CNN repeats exactly every 90° and moves in between; "
                 f"the CNN does not repeat")
    return fig


def plot_rotation_accuracies(accuracies: dict):
    """Grouped bars: accuracy of each model on upright, 90°-multiple and arbitrary-angle test images."""
    settings = ("upright", "rotated by multiples of 90°", "rotated by any angle")
    keys = ("upright", "quarter_turns", "any_angle")
    fig, ax = plt.subplots(figsize=(10, 5))
    width = 0.38
    for i, (model, colour) in enumerate((("CNN", PALETTE["class0"]), ("G-CNN", PALETTE["class1"]))):
        values = [accuracies[model][k] for k in keys]
        bars = ax.bar(np.arange(3) + (i - 0.5) * width, values, width, color=colour, label=model)
        ax.bar_label(bars, labels=[f"{v:.0%}" for v in values], fontsize=11)
    ax.set_xticks(np.arange(3), settings)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("test accuracy")
    ax.set_xlabel("test images")
    ax.legend(loc="lower left")
    ax.set_title("Both trained to convergence on upright shapes only, tested on turned ones")
    return fig


def plot_accuracy_by_angle(angles, accuracies: dict):
    """Test accuracy against the angle the test images are turned by, one line per model; 90° multiples dashed."""
    fig, ax = plt.subplots(figsize=(11, 5))
    for (model, values), colour in zip(accuracies.items(), (PALETTE["class0"], PALETTE["class1"])):
        ax.plot(angles, np.asarray(values), color=colour, lw=2.5, marker="o", ms=4, label=model)
    for a in (0, 90, 180, 270, 360):
        ax.axvline(a, color=PALETTE["reference"], ls="--", lw=1)
    ax.set_xticks([0, 45, 90, 135, 180, 225, 270, 315, 360])
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("angle the upright test images are turned by (degrees)")
    ax.set_ylabel("test accuracy")
    ax.legend(loc="lower left")
    ax.set_title("Accuracy as the test images turn: exact at 90° multiples for the G-CNN, lower in between for both")
    return fig
