"""Figures for the folding lesson: the plane, step by step through a net of 2-neuron layers.

Colours keep one meaning throughout: class 0 and class 1 are PALETTE's class colours;
the grid drawn over the plane has its vertical lines (x1 = const at the input) in
VERTICAL_LINES and its horizontal lines (x2 = const) in HORIZONTAL_LINES, so a fold or a
collapse shows as those lines bending or piling up. Narrow nets are NARROW, wide ones WIDE.
Every function returns a Figure of fixed size.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from course.runtime.style import PALETTE

VERTICAL_LINES = "#9467bd"
HORIZONTAL_LINES = "#17becf"
NARROW = PALETTE["kernel"]
WIDE = PALETTE["output"]
QUADRANT_COLOURS = ("#2ca02c", "#9467bd", "#d62728", "#8c564b")  # I, II, III, IV
QUADRANT_NAMES = ("I (+,+)", "II (−,+)", "III (−,−)", "IV (+,−)")
LANDING_NAMES = ("stays inside the quadrant", "lands on an axis", "lands on the origin")
LANDING_COLOURS = ("#2ca02c", "#ffbb78", "#d62728")


def _class_scatter(ax, points, labels, size=14, legend=True):
    points, labels = np.asarray(points), np.asarray(labels)
    for cls in (0, 1):
        chosen = points[labels == cls]
        ax.scatter(chosen[:, 0], chosen[:, 1], s=size, color=PALETTE[f"class{cls}"], edgecolors="none",
                   label=f"class {cls}" if legend else None, zorder=3)


def _axes_through_origin(ax):
    ax.axhline(0, color="black", linewidth=0.8, zorder=1)
    ax.axvline(0, color="black", linewidth=0.8, zorder=1)


def _limits(points, pad=0.15):
    """Axis limits that show all the points (and the origin) with a margin; a direction the
    points have collapsed in still gets a fifth of the other direction's span."""
    points = np.asarray(points)
    low = np.minimum(points.min(axis=0), 0)
    high = np.maximum(points.max(axis=0), 0)
    span = np.maximum(high - low, 0.2 * (high - low).max())
    centre = (high + low) / 2
    low, high = np.minimum(low, centre - span / 2), np.maximum(high, centre + span / 2)
    margin = pad * span
    return (low[0] - margin[0], high[0] + margin[0]), (low[1] - margin[1], high[1] + margin[1])


def _grid(ax, lines):
    lines = np.asarray(lines)
    half = len(lines) // 2
    for index, line in enumerate(lines):
        colour = VERTICAL_LINES if index < half else HORIZONTAL_LINES
        ax.plot(line[:, 0], line[:, 1], color=colour, linewidth=1.0, alpha=0.55, zorder=2)


def _grid_legend_handles():
    return [Line2D([], [], color=VERTICAL_LINES, linewidth=2, label="grid: x1 = const at the input"),
            Line2D([], [], color=HORIZONTAL_LINES, linewidth=2, label="grid: x2 = const at the input")]


def plot_chevron_data(points, labels, box, boundary_x, boundary_y, boundary_text, best_line_accuracy):
    """The data set in the input square [-box, box]² with the true V-shaped boundary."""
    fig, ax = plt.subplots(figsize=(7.5, 8))
    _class_scatter(ax, points, labels, size=22)
    ax.plot(boundary_x, boundary_y, "--", color="black", linewidth=1.5, label=f"true boundary {boundary_text}")
    ax.set(title=f"Two classes that no line separates\n(the best straight line gets {best_line_accuracy:.0%} right)",
           xlabel="x1", ylabel="x2", aspect="equal", xlim=(-box - 0.05, box + 0.05), ylim=(-box - 0.05, box + 0.05))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False, fontsize=11)
    return fig


def plot_relu_quadrants(before, after, quadrant):
    """Random points before and after ReLU, coloured by the quadrant they started in
    (quadrant: (N,) with 0..3 for I..IV)."""
    before, after, quadrant = np.asarray(before), np.asarray(after), np.asarray(quadrant)
    fig, axes = plt.subplots(1, 2, figsize=(13, 6.2))
    panels = ((axes[0], before, "before ReLU"), (axes[1], after, "after ReLU: max(0, x) per coordinate"))
    for ax, points, title in panels:
        _axes_through_origin(ax)
        for q in range(4):
            chosen = points[quadrant == q]
            ax.scatter(chosen[:, 0], chosen[:, 1], s=22 if points is after else 12, color=QUADRANT_COLOURS[q],
                       alpha=0.6, edgecolors="none", label=f"from quadrant {QUADRANT_NAMES[q]}")
        ax.set(title=title, xlabel="coordinate 1", ylabel="coordinate 2", xlim=(-1.15, 1.15), ylim=(-1.15, 1.15),
               aspect="equal")
    axes[1].annotate("all of III\non the origin", xy=(0, 0), xytext=(-0.95, -0.6), fontsize=12,
                     arrowprops=dict(arrowstyle="->", color=QUADRANT_COLOURS[2]))
    axes[1].annotate("II on the\nx2-axis", xy=(0, 0.6), xytext=(-0.95, 0.55), fontsize=12,
                     arrowprops=dict(arrowstyle="->", color=QUADRANT_COLOURS[1]))
    axes[1].annotate("IV on the\nx1-axis", xy=(0.6, 0), xytext=(0.35, -0.6), fontsize=12,
                     arrowprops=dict(arrowstyle="->", color=QUADRANT_COLOURS[3]))
    axes[0].legend(loc="upper left", fontsize=10, framealpha=0.9)
    fig.suptitle("ReLU keeps the positive quadrant and flattens the other three onto its edges")
    return fig


def plot_folding_steps(point_steps, grid_steps, labels, names, accuracy):
    """One panel per step of the net: the input, then after every affine map and every ReLU.

    point_steps / grid_steps: lists of (N, 2) data points and (lines, samples, 2) grid lines,
    the input first; names: the panel titles.
    """
    columns = 4
    rows = int(np.ceil((len(point_steps) + 1) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(17, 4.3 * rows))
    axes = axes.ravel()
    for ax, points, lines, name in zip(axes, point_steps, grid_steps, names):
        _axes_through_origin(ax)
        _grid(ax, lines)
        _class_scatter(ax, points, labels, size=10, legend=False)
        xlim, ylim = _limits(points)
        ax.set(title=name, xlim=xlim, ylim=ylim, xlabel="coordinate 1", ylabel="coordinate 2")
    for ax in axes[len(point_steps):]:
        ax.axis("off")
    handles = [Patch(color=PALETTE["class0"], label="class 0"), Patch(color=PALETTE["class1"], label="class 1"),
               *_grid_legend_handles()]
    axes[len(point_steps)].legend(handles=handles, loc="center", frameon=False, fontsize=13)
    fig.suptitle(f"The plane through a trained 2-2-2-2-2-2 net (training accuracy {accuracy:.0%}): "
                 "affine maps move it, ReLUs flatten it")
    return fig


def plot_collapse_per_layer(landing_fractions):
    """Stacked bars: at each hidden ReLU, the fraction of data points staying inside the
    quadrant, landing on an axis, landing on the origin. landing_fractions: (layers, 3)."""
    fractions = np.asarray(landing_fractions)
    layers = np.arange(1, len(fractions) + 1)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    bottom = np.zeros(len(fractions))
    for kind in range(3):
        ax.bar(layers, fractions[:, kind], bottom=bottom, color=LANDING_COLOURS[kind], label=LANDING_NAMES[kind])
        bottom += fractions[:, kind]
    ax.set(title="Where each hidden ReLU puts the data points", xlabel="hidden layer",
           ylabel="fraction of the data points", xticks=layers, ylim=(0, 1.25))
    ax.legend(loc="upper center", ncol=2, fontsize=10, frameon=False)
    return fig


def plot_separable_output(last_hidden, outputs, labels, normal, offset, accuracy):
    """Left: the last hidden layer's points with the output layer's decision line
    normal·h + offset = 0; right: the output plane with the line score 1 = score 0."""
    last_hidden, outputs = np.asarray(last_hidden), np.asarray(outputs)
    fig, axes = plt.subplots(1, 2, figsize=(13, 6))
    panels = ((axes[0], last_hidden, "after the last ReLU (hidden layer 4)", "h1", "h2"),
              (axes[1], outputs, "output scores (affine 5)", "score of class 0", "score of class 1"))
    for ax, points, title, xlabel, ylabel in panels:
        _axes_through_origin(ax)
        _class_scatter(ax, points, labels, size=16)
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
        xlim, ylim = _limits(points)
        ax.set(xlim=xlim, ylim=ylim)
    xlim, ylim = axes[0].get_xlim(), axes[0].get_ylim()
    _line(axes[0], np.asarray(normal), float(offset), xlim, ylim)
    xlim, ylim = axes[1].get_xlim(), axes[1].get_ylim()
    low, high = min(xlim[0], ylim[0]), max(xlim[1], ylim[1])
    axes[1].plot([low, high], [low, high], "--", color="black", linewidth=1.5, label="score 1 = score 0")
    axes[1].set(xlim=xlim, ylim=ylim)
    for ax in axes:
        ax.legend(loc="best", framealpha=0.9)
    fig.suptitle(f"At the end the classes are split by a straight line ({accuracy:.0%} of the points on their side)")
    return fig


def _line(ax, normal, offset, xlim, ylim):
    """Draw normal·h + offset = 0 across the panel."""
    if abs(normal[1]) > abs(normal[0]):
        h1 = np.linspace(*xlim, 2)
        h2 = -(offset + normal[0] * h1) / normal[1]
    else:
        h2 = np.linspace(*ylim, 2)
        h1 = -(offset + normal[1] * h2) / normal[0]
    ax.plot(h1, h2, "--", color="black", linewidth=1.5, label="output layer's decision line")
    ax.set(xlim=xlim, ylim=ylim)


def plot_decision_regions(regions, box, points, labels, titles, boundary_x, boundary_y):
    """Predicted class over the input square for a few nets, with the data and the true V."""
    fig, axes = plt.subplots(1, len(regions), figsize=(6.5 * len(regions), 6.3))
    axes = np.atleast_1d(axes)
    colours = ListedColormap([PALETTE["class0"], PALETTE["class1"]])
    for ax, region, title in zip(axes, regions, titles):
        ax.imshow(np.asarray(region), origin="lower", extent=(-box, box, -box, box), cmap=colours, vmin=0, vmax=1,
                  alpha=0.25, interpolation="nearest")
        _class_scatter(ax, points, labels, size=18)
        ax.plot(boundary_x, boundary_y, "--", color="black", linewidth=1.3, label="true boundary")
        ax.set(title=title, xlabel="x1", ylabel="x2", xlim=(-box, box), ylim=(-box, box), aspect="equal")
    handles = [Patch(color=PALETTE["class0"], alpha=0.35, label="predicted class 0"),
               Patch(color=PALETTE["class1"], alpha=0.35, label="predicted class 1"),
               *axes[0].get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    fig.get_layout_engine().set(rect=(0, 0.07, 1, 0.93))
    fig.suptitle("Decision regions in the input plane")
    return fig


def plot_training_runs(runs):
    """Loss curves of every seed, narrow and wide, and the fraction of seeds that reached the target.

    runs: {width: TrainingRuns} for two widths.
    """
    (narrow_width, narrow), (wide_width, wide) = sorted(runs.items())
    fig, (ax_loss, ax_bars) = plt.subplots(1, 2, figsize=(15, 6), gridspec_kw={"width_ratios": [2, 1]})
    for r, colour in ((narrow, NARROW), (wide, WIDE)):
        for curve, reached in zip(r.loss_curves, r.reached):
            ax_loss.plot(np.arange(1, len(curve) + 1), np.maximum(curve, 1e-6), color=colour,
                         linestyle="-" if reached else "--", linewidth=1.6, alpha=0.75)
    ax_loss.set(yscale="log", title=f"Training loss, one line per seed ({len(narrow.seeds)} seeds per width)",
                xlabel="epoch", ylabel="cross-entropy loss (log scale)")
    ax_loss.legend(handles=[Line2D([], [], color=NARROW, label=f"narrow: {narrow_width} neurons per hidden layer"),
                            Line2D([], [], color=WIDE, label=f"wide: {wide_width} neurons per hidden layer"),
                            Line2D([], [], color="black", label=f"reached {narrow.target:.0%} accuracy"),
                            Line2D([], [], color="black", linestyle="--", label="did not")],
                   loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    _bars(ax_bars, [narrow.width, wide.width], [narrow.success_rate, wide.success_rate], [NARROW, WIDE])
    ax_bars.set(title=f"Seeds that reached {narrow.target:.0%} training accuracy", xlabel="neurons per hidden layer",
                ylabel="fraction of seeds", ylim=(0, 1.15))
    return fig


def _bars(ax, widths, values, colours):
    bars = ax.bar([str(w) for w in widths], values, color=colours, width=0.6)
    ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=13)


def plot_dead_fractions(runs, shown_dead: float):
    """Mean fraction of points sent to the origin by some hidden ReLU, at initialisation and
    after training: narrow runs that failed, narrow runs that reached the target, wide runs;
    `shown_dead`: the same fraction for the narrow net drawn in the lesson (one that succeeded).
    runs: {width: TrainingRuns} for two widths."""
    (_, narrow), (_, wide) = sorted(runs.items())

    def mean(values, keep):
        kept = [v for v, k in zip(values, keep) if k]
        return sum(kept) / len(kept) if kept else float("nan")

    failed = [not r for r in narrow.reached]
    groups = [(f"{narrow.width} neurons, failed ({sum(failed)} runs)", narrow, failed, NARROW),
              (f"{narrow.width} neurons, reached the target ({len(failed) - sum(failed)} runs)", narrow,
               narrow.reached, PALETTE["padding"]),
              (f"{wide.width} neurons ({len(wide.seeds)} runs)", wide, [True] * len(wide.seeds), WIDE)]
    fig, ax = plt.subplots(figsize=(10, 6))
    x = np.arange(2)
    for shift, (label, r, keep, colour) in zip((-0.27, 0, 0.27), groups):
        values = [mean(r.dead_at_init, keep), mean(r.dead_after, keep)]
        bars = ax.bar(x + shift, np.nan_to_num(values), width=0.26, color=colour, label=label)
        ax.bar_label(bars, labels=["—" if np.isnan(v) else f"{v:.2f}" for v in values], fontsize=12)
    ax.axhline(shown_dead, color="0.3", ls="--", lw=1.5,
               label=f"the narrow net drawn in this lesson (succeeded): {shown_dead:.2f}")
    ax.set(title="Points sent to the origin by some hidden ReLU: many more in narrow nets,\n"
                 "but as many in narrow nets that succeeded as in those that failed",
           xticks=x, ylabel="fraction of the data points", ylim=(0, 1.35))
    ax.set_xticklabels(["at initialisation", "after training"])
    ax.legend(loc="upper left", fontsize=11)
    return fig
