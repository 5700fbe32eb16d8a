"""Figures for the motif-detection lesson: a detector slid along sequences, templates slid over letters.

Colours keep one meaning (see `course.runtime.style.PALETTE`): class 1 (a motif is present;
the letter D) in orange, class 0 (a decoy; the letter C) in blue, kernel weights in red,
the true motif in grey. Endpoint detections are drawn in `ENDPOINT_COLOUR`, corner
detections in `CORNER_COLOUR`. Every function returns a Figure of fixed size.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from course.runtime.style import DIVERGING, PALETTE

ENDPOINT_COLOUR = "#9467bd"  # purple: "a stroke ends here"
CORNER_COLOUR = "#2ca02c"    # green: "two strokes meet at a corner"
WRONG_COLOUR = "#d62728"


def _stem(ax, x, y, colour, label=None, size=6, offset=0.0):
    ax.vlines(np.asarray(x) + offset, 0, y, colors=colour, linewidth=2)
    ax.plot(np.asarray(x) + offset, y, "o", color=colour, markersize=size, label=label)
    ax.axhline(0, color="black", linewidth=0.6)


def plot_motif_sequences(x, labels, positions, motif, count=3):
    """`count` positives and `count` negatives, the inserted pattern shaded; the motif on the left.

    x: (N, n); labels: (N,) 1 = motif, 0 = decoy; positions: (N,) start of the pattern.
    """
    x, labels, positions, motif = (np.asarray(a) for a in (x, labels, positions, motif))
    k = len(motif)
    rows = [i for i in np.flatnonzero(labels == 1)[:count]] + [i for i in np.flatnonzero(labels == 0)[:count]]
    fig = plt.figure(figsize=(15, 8))
    grid = fig.add_gridspec(len(rows), 2, width_ratios=[0.28, 1])
    ax_m = fig.add_subplot(grid[:, 0])
    _stem(ax_m, np.arange(k), motif, PALETTE["reference"], size=9)
    ax_m.set(title="the motif (length 7)", xlabel="tap", ylabel="value", xticks=range(k))
    for row, i in enumerate(rows):
        ax = fig.add_subplot(grid[row, 1])
        colour = PALETTE["class1"] if labels[i] == 1 else PALETTE["class0"]
        what = "motif" if labels[i] == 1 else "decoy"
        ax.axvspan(positions[i] - 0.5, positions[i] + k - 0.5, color=colour, alpha=0.25)
        ax.plot(np.arange(x.shape[1]), x[i], color="black", linewidth=1.3)
        ax.plot(positions[i] + np.arange(k), x[i, positions[i]:positions[i] + k], "o-", color=colour, linewidth=2.5)
        ax.set_ylabel(f"{what}\nat {positions[i]}", color=colour, rotation=0, ha="right", va="center")
        ax.set_yticks([])
        ax.set_xlim(-0.5, x.shape[1] - 0.5)
        if row < len(rows) - 1:
            ax.set_xticklabels([])
    ax.set_xlabel("position in the sequence")
    fig.suptitle("Sequences: noise plus one pattern at a random place — the motif (orange, class 1) "
                 "or a decoy of equal energy (blue, class 0)")
    return fig


def plot_learned_motif(motif, learned, start_cosines, start_losses, positive_scores, negative_scores, threshold):
    """The kept detector's weights against the motif; every start's (loss, cosine); score histograms."""
    motif, learned = np.asarray(motif), np.asarray(learned)
    fig, (ax_w, ax_s, ax_h) = plt.subplots(1, 3, figsize=(17, 5.6), width_ratios=[1, 1, 1.1])
    k = len(motif)
    _stem(ax_w, np.arange(k), motif / np.linalg.norm(motif), PALETTE["reference"], "true motif (unit norm)", size=9, offset=-0.1)
    _stem(ax_w, np.arange(k), learned / np.linalg.norm(learned), PALETTE["kernel"], "learned w (unit norm)", size=7, offset=0.1)
    ax_w.set(title="learned weights = the motif", xlabel="tap", ylabel="weight / norm", xticks=range(k))
    ax_w.legend(loc="lower left")
    cosines, losses = np.asarray(start_cosines), np.asarray(start_losses)
    positive_scores, negative_scores = np.asarray(positive_scores), np.asarray(negative_scores)
    best = int(np.argmin(losses))
    ax_s.scatter(losses, cosines, s=60, color=PALETTE["kernel"], alpha=0.6, label="one start")
    ax_s.scatter(losses[best], cosines[best], s=260, facecolors="none", edgecolors="black", linewidths=2.5,
                 label="kept: lowest training loss")
    ax_s.set(title=f"{len(cosines)} starts: some lock onto part of the motif",
             xlabel="training loss", ylabel="cosine(w, motif)", ylim=(-1.05, 1.05))
    ax_s.legend(loc="lower left")
    bins = np.linspace(min(np.min(positive_scores), np.min(negative_scores)),
                       max(np.max(positive_scores), np.max(negative_scores)), 40)
    ax_h.hist(negative_scores, bins=bins, color=PALETTE["class0"], alpha=0.6, label="decoy (class 0)")
    ax_h.hist(positive_scores, bins=bins, color=PALETTE["class1"], alpha=0.6, label="motif (class 1)")
    ax_h.axvline(threshold, color="black", linestyle="--", linewidth=2, label="decision: score = -b")
    ax_h.set(title="max window score on test sequences", xlabel="score = max over windows of w·window",
             ylabel="sequences")
    ax_h.legend(loc="upper left", fontsize=10)
    fig.suptitle("A shared detector with a max over positions, trained: its weights are the motif")
    return fig


def plot_window_gradients(per_window, shared):
    """Per-window gradients (P, k) as a map; their sum next to autograd's gradient of the shared w."""
    per_window, shared = np.asarray(per_window), np.asarray(shared)
    fig, (ax_map, ax_sum) = plt.subplots(1, 2, figsize=(16, 5.6), width_ratios=[1.6, 1])
    limit = np.abs(per_window).max()
    shown = ax_map.imshow(per_window.T, cmap=DIVERGING, vmin=-limit, vmax=limit, aspect="auto")
    fig.colorbar(shown, ax=ax_map, label="dC/dw_i (copy at window i)")
    ax_map.set(title="gradient of each window's own copy of w (one batch)", xlabel="window position i",
               ylabel="tap", yticks=range(per_window.shape[1]))
    k = len(shared)
    width = 0.38
    ax_sum.bar(np.arange(k) - width / 2, per_window.sum(0), width, color=PALETTE["kernel"], label="sum over windows of dC/dw_i")
    ax_sum.bar(np.arange(k) + width / 2, shared, width, color=PALETTE["reference"], label="dC/dw, shared w (autograd)")
    ax_sum.axhline(0, color="black", linewidth=0.6)
    ax_sum.set(title="summed copies = shared gradient", xlabel="tap", ylabel="gradient", xticks=range(k))
    ax_sum.legend(loc="best", fontsize=10)
    fig.suptitle("Weight sharing: the shared weights' gradient is the sum of the windows' gradients")
    return fig


def plot_zero_grad(right, wrong, lr):
    """Two SGD runs from the same weights on the same batches, with and without zero_grad.

    right, wrong: lists of `course.chapters.motif_detection.SgdStep`.
    """
    fig, (ax_u, ax_n, ax_l) = plt.subplots(1, 3, figsize=(17, 5.6), width_ratios=[1.2, 1, 1])
    k = len(right[1].update)
    width = 0.27
    bars = ((right[1].update, PALETTE["output"], "right: -lr·g2"),
            (wrong[1].update, WRONG_COLOUR, "no zero_grad: -lr·(g1 + g2)"),
            (-lr * right[0].batch_gradient, PALETTE["reference"], "the stale part: -lr·g1"))
    for j, (values, colour, label) in enumerate(bars):
        ax_u.bar(np.arange(k) + (j - 1) * width, np.asarray(values), width, color=colour, label=label)
    ax_u.axhline(0, color="black", linewidth=0.6)
    ax_u.set(title="the second step's update, tap by tap", xlabel="tap", ylabel="change of w", xticks=range(k))
    ax_u.legend(loc="best", fontsize=10)
    steps = np.arange(1, len(right) + 1)
    for run, colour, label in ((right, PALETTE["output"], "zero_grad every step"), (wrong, WRONG_COLOUR, "never zeroed")):
        ax_n.plot(steps, [s.update.norm().item() for s in run], "o-", color=colour, label=label)
        ax_l.plot(steps, [s.loss for s in run], "o-", color=colour, label=label)
    ax_n.set(title="length of each update", xlabel="step", ylabel="|Δw|", ylim=(0, None))
    ax_l.set(title="loss of the batch at each step", xlabel="step", ylabel="cross-entropy")
    ax_n.legend(loc="upper left")
    ax_l.legend(loc="best")
    fig.suptitle(f"Forgetting zero_grad: backward() adds, so each step also repeats every earlier one (SGD, lr = {lr:g})")
    return fig


def _letter_axes(ax, image, title):
    ax.imshow(np.asarray(image), cmap="Greys", vmin=0, vmax=1)
    ax.set(title=title, xlabel="column", ylabel="row")


def _mark(ax, maps, colour, marker, label):
    """Draw a marker at every pixel where any of the thresholded maps (T, H, W) fired."""
    rows, cols = np.nonzero(np.asarray(maps).sum(0))
    ax.scatter(cols, rows, s=320, facecolors="none", edgecolors=colour, linewidths=3, marker=marker, label=label)


def plot_letter_templates(endpoint_templates, corner_templates, letters):
    """The eight hand-built templates, then each letter with its summed response maps.

    letters: list of dicts with keys name, image (H, W), endpoint_maps (4, H, W),
    corner_maps (4, H, W), endpoint_raw (4, H, W), corner_raw (4, H, W).
    """
    fig = plt.figure(figsize=(16, 10))
    top, bottom = fig.subfigures(2, 1, height_ratios=[0.75, 2.6])
    for j, (ax, template) in enumerate(zip(top.subplots(1, 8), list(endpoint_templates) + list(corner_templates))):
        template = np.asarray(template)
        ax.imshow(template, cmap=DIVERGING, vmin=-1.5, vmax=1.5)
        for (r, c), value in np.ndenumerate(template):
            ax.text(c, r, f"{value:+.0f}", ha="center", va="center", fontsize=12, color="white" if value > 0 else "black")
        kind, colour = ("endpoint", ENDPOINT_COLOUR) if j < 4 else ("corner", CORNER_COLOUR)
        ax.set_title(f"{kind} {j % 4 + 1}", color=colour)
        ax.set(xticks=[], yticks=[])
    grid = bottom.add_gridspec(len(letters), 3)
    for row, letter in enumerate(letters):
        endpoints, corners = int(np.asarray(letter["endpoint_maps"]).sum()), int(np.asarray(letter["corner_maps"]).sum())
        ax = bottom.add_subplot(grid[row, 0])
        _letter_axes(ax, letter["image"], f"letter {letter['name']}")
        _mark(ax, letter["endpoint_maps"], ENDPOINT_COLOUR, "o", "endpoint found")
        _mark(ax, letter["corner_maps"], CORNER_COLOUR, "s", "corner found")
        ax.legend(loc="lower right", fontsize=9)
        for j, (key, title, colour) in enumerate((("endpoint_raw", "endpoint response (fires at 2)", ENDPOINT_COLOUR),
                                                   ("corner_raw", "corner response (fires at 3)", CORNER_COLOUR))):
            ax_r = bottom.add_subplot(grid[row, 1 + j])
            best = np.asarray(letter[key]).max(0)
            shown_r = ax_r.imshow(best, cmap=DIVERGING, vmin=-3, vmax=3)
            ax_r.set(xlabel="column", ylabel="row")
            ax_r.set_title(title + ", best of 4 turns", color=colour)
            bottom.colorbar(shown_r, ax=ax_r, label="response", shrink=0.9)
        verdict = "C" if endpoints > corners else "D" if corners > endpoints else "?"
        ax.set_title(f"letter {letter['name']}: {endpoints} endpoints, {corners} corners → {verdict}")
    fig.suptitle("Hand-built templates: endpoints fire (≥ 2) on C, corners fire (≥ 3) on D")
    return fig


def plot_shift_invariance(examples, grid):
    """A few placements of each letter with their detections: the marks move, the verdict does not.

    examples: list of rows, each a list of dicts with image, endpoint_maps, corner_maps, verdict.
    """
    rows, cols = len(examples), len(examples[0])
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 4.4 * rows), squeeze=False)
    for r, row in enumerate(examples):
        for c, example in enumerate(row):
            ax = axes[r, c]
            _letter_axes(ax, example["image"], "")
            _mark(ax, example["endpoint_maps"], ENDPOINT_COLOUR, "o", "endpoint")
            _mark(ax, example["corner_maps"], CORNER_COLOUR, "s", "corner")
            e, k = int(np.asarray(example["endpoint_maps"]).sum()), int(np.asarray(example["corner_maps"]).sum())
            colour = PALETTE["class0"] if example["verdict"] == "C" else PALETTE["class1"]
            ax.set_title(f"{e} endpoints, {k} corners → {example['verdict']}", color=colour)
            ax.set(xlim=(-0.5, grid - 0.5), ylim=(grid - 0.5, -0.5))
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, frameon=False)
    fig.get_layout_engine().set(rect=(0, 0.05, 1, 0.95))
    fig.suptitle("Shift invariance: the detections move with the letter, the verdict stays the same")
    return fig


def plot_template_net(kernels, readout, letters, accuracy_maps, train_box):
    """A trained TemplateNet: its kernels, their maps on a C and a D, and accuracy by position.

    kernels: (C, k, k); readout: (2, C) linear weights; letters: list of (name, image (H, W),
    maps (C, H', W')); accuracy_maps: dict name -> (rows, cols) accuracy per glyph offset;
    train_box: (rows, cols) of offsets seen in training (offsets < these).
    """
    kernels, readout = np.asarray(kernels), np.asarray(readout)
    channels = len(kernels)
    fig = plt.figure(figsize=(17, 11))
    # Left: kernels over their response maps; right: one column of its own for the accuracy
    # maps, so their titles and axis labels get the room they need.
    left, right = fig.add_gridspec(1, 2, width_ratios=[1.3 + channels + 0.1, 2.2], wspace=0.06)
    grid = left.subgridspec(1 + len(letters), channels + 2, width_ratios=[1.3] + [1] * channels + [0.1])
    limit = np.abs(kernels).max()
    vote = readout[1] - readout[0]  # > 0: this channel firing argues for D
    for c in range(channels):
        ax = fig.add_subplot(grid[0, c + 1])
        shown = ax.imshow(kernels[c], cmap=DIVERGING, vmin=-limit, vmax=limit)
        colour = PALETTE["class1"] if vote[c] > 0 else PALETTE["class0"]
        ax.set_title(f"kernel {c}\nvote for D: {vote[c]:+.1f}", color=colour)
        ax.set(xticks=[], yticks=[])
    fig.colorbar(shown, ax=ax, label="weight", shrink=0.9)
    map_max = max(float(np.asarray(maps).max()) for _, _, maps in letters)
    for row, (name, image, maps) in enumerate(letters, start=1):
        ax = fig.add_subplot(grid[row, 0])
        _letter_axes(ax, image, f"input: {name}")
        for c in range(channels):
            ax_m = fig.add_subplot(grid[row, c + 1])
            shown_m = ax_m.imshow(np.asarray(maps)[c], cmap="magma", vmin=0, vmax=map_max)
            ax_m.set(title=f"map {c}, max {float(np.asarray(maps)[c].max()):.1f}", xticks=[], yticks=[])
        fig.colorbar(shown_m, ax=ax_m, label="ReLU response", shrink=0.9)
    accuracy_grid = right.subgridspec(len(accuracy_maps), 1, hspace=0.15)
    for row, (name, accuracy) in enumerate(accuracy_maps.items()):
        ax = fig.add_subplot(accuracy_grid[row, 0])
        shown_a = ax.imshow(np.asarray(accuracy), cmap="RdYlGn", vmin=0, vmax=1)
        ax.add_patch(Rectangle((-0.5, -0.5), train_box[1], train_box[0], fill=False, edgecolor="black", linewidth=3))
        ax.set(title=f"{name}: accuracy by position", xlabel="letter's column offset", ylabel="letter's row offset")
        fig.colorbar(shown_a, ax=ax, label="accuracy", shrink=0.8)
    fig.text(0.99, 0.01, "black box: positions seen in training", ha="right", va="bottom")
    fig.suptitle("A tiny conv net (conv → ReLU → global max → linear) learns its own templates")
    return fig
