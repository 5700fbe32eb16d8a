"""Figures for the convolution lesson: windows sliding, kernels flipping, indices unfolding.

Colours keep one meaning throughout (see `course.runtime.style.PALETTE`): signal / input in
blue, kernel in red, output in green, zero padding in light orange. Cross-correlation
is what a deep-learning "conv" layer computes, so it gets the output colour; true
convolution gets `CONVOLUTION_COLOUR`. Every function returns a Figure of fixed size.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Normalize
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from course.chapters.convolution import conv_output_size
from course.runtime.style import DIVERGING, PALETTE, SEQUENTIAL

CONVOLUTION_COLOUR = "#9467bd"


def _stem(ax, x, y, colour, label=None, size=5):
    """Stem plot in one colour (matplotlib's default stem mixes colours)."""
    ax.vlines(x, 0, y, colors=colour, linewidth=1.5)
    ax.plot(x, y, "o", color=colour, markersize=size, label=label)
    ax.axhline(0, color="black", linewidth=0.6)


def plot_sliding_window(x, w, y, positions):
    """The kernel w (k,) at a few window positions over x (L,), and the output y (L-k+1,) so far.

    Top row: the signal with the window shaded and the kernel drawn on its taps;
    bottom row: the outputs computed up to that position, the newest one circled.
    """
    x, w, y = np.asarray(x), np.asarray(w), np.asarray(y)
    k, n = len(w), len(x)
    fig = plt.figure(figsize=(15, 7))
    grid = fig.add_gridspec(2, len(positions) + 1, width_ratios=[0.55] + [1] * len(positions))
    ax_w = fig.add_subplot(grid[:, 0])
    _stem(ax_w, np.arange(k), w, PALETTE["kernel"], size=8)
    ax_w.set(title="kernel w", xlabel="tap j", ylabel="weight w[j]", xticks=np.arange(k))
    y_lim = (min(y.min(), 0) - 0.3, max(y.max(), 0) + 0.3)
    x_lim = (min(x.min(), 0) - 0.3, max(x.max(), w.max()) + 0.3)
    for column, i in enumerate(positions, start=1):
        top = fig.add_subplot(grid[0, column])
        top.axvspan(i - 0.5, i + k - 0.5, color=PALETTE["kernel"], alpha=0.15, label="window")
        _stem(top, np.arange(n), x, PALETTE["signal"], label="signal x", size=4)
        top.plot(i + np.arange(k), w, "s", color=PALETTE["kernel"], markersize=7, label="kernel w on its taps")
        top.set(title=f"window at i = {i}", xlabel="position", ylabel="value", xlim=(-1, n), ylim=x_lim)
        bottom = fig.add_subplot(grid[1, column], sharex=top)
        _stem(bottom, np.arange(i + 1), y[: i + 1], PALETTE["output"], label="output y so far", size=4)
        bottom.plot([i], [y[i]], "o", markersize=14, markerfacecolor="none", markeredgecolor="black")
        bottom.set(title=rf"$y[{i}] = \sum_j w[j]\,x[{i}+j] = {y[i]:.2f}$", xlabel="output index i", ylabel="y[i]", ylim=y_lim)
    handles = top.get_legend_handles_labels()[0] + bottom.get_legend_handles_labels()[0][:1]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    fig.get_layout_engine().set(rect=(0, 0.06, 1, 0.94))
    fig.suptitle("Sliding a window: each output is the kernel's dot product with one window of the signal")
    return fig


def plot_convolution_vs_correlation(x, w, y_correlation, y_convolution, y_correlation_flipped):
    """Same signal, same kernel, two conventions; and convolution = correlation with flip(w).

    x: (L,), w: (k,), the three outputs: (L-k+1,) each (valid windows, output i covers x[i:i+k]).
    """
    x, w = np.asarray(x), np.asarray(w)
    fig = plt.figure(figsize=(14, 8.5))
    grid = fig.add_gridspec(2, 3, height_ratios=[1, 1.25], width_ratios=[2.2, 0.8, 0.8])
    ax_x = fig.add_subplot(grid[0, 0])
    ax_x.plot(np.arange(len(x)), x, color=PALETTE["signal"], linewidth=2, label="signal x")
    ax_x.set(title="signal", xlabel="position", ylabel="x")
    ax_x.legend(loc="upper right")
    for column, (kernel, title) in enumerate(((w, "kernel w (as stored)"), (w[::-1], "flip(w): read backwards")), start=1):
        ax = fig.add_subplot(grid[0, column])
        _stem(ax, np.arange(len(kernel)), kernel, PALETTE["kernel"], size=8)
        ax.set(title=title, xlabel="tap j", ylabel="weight", xticks=np.arange(len(kernel)))
    ax_y = fig.add_subplot(grid[1, :])
    i = np.arange(len(y_correlation))
    ax_y.plot(i, y_correlation, color=PALETTE["output"], linewidth=2.5, label="cross-correlation  Σ w[j]·x[i+j]  (PyTorch conv)")
    ax_y.plot(i, y_convolution, color=CONVOLUTION_COLOUR, linewidth=2.5, label="convolution  Σ w[j]·x[i+k−1−j]")
    ax_y.plot(i, y_correlation_flipped, "o", color="black", markersize=4, markerfacecolor="none",
              label="cross-correlation with flip(w)")
    ax_y.axhline(0, color="black", linewidth=0.6)
    ax_y.set(title="outputs: the two conventions disagree; flipping the kernel makes them agree",
             xlabel="output index i (window x[i : i+k])", ylabel="y[i]")
    ax_y.legend(loc="lower left", ncol=1)
    fig.suptitle("Convolution vs cross-correlation: same kernel, opposite reading order")
    return fig


def plot_edge_filters(image, kernels: dict, responses: dict):
    """An image, a few 3x3 kernels, and their cross-correlations on one shared diverging scale.

    image: (H, W); kernels: name -> (kh, kw); responses: name -> (H', W').
    """
    names = list(kernels)
    mosaic = [["image"] + [f"k{i}" for i in range(len(names))], ["image"] + [f"r{i}" for i in range(len(names))]]
    fig, axes = plt.subplot_mosaic(mosaic, figsize=(16, 8.2), width_ratios=[1.6] + [1] * len(names))
    shown = axes["image"].imshow(np.asarray(image), cmap="gray")
    axes["image"].set(title="input image", xlabel="column", ylabel="row")
    fig.colorbar(shown, ax=axes["image"], orientation="horizontal", label="brightness", shrink=0.8)
    k_max = max(float(np.abs(np.asarray(k)).max()) for k in kernels.values())
    r_max = max(float(np.abs(np.asarray(r)).max()) for r in responses.values())
    for i, name in enumerate(names):
        kernel = np.asarray(kernels[name])
        k_img = axes[f"k{i}"].imshow(kernel, cmap=DIVERGING, vmin=-k_max, vmax=k_max)
        for (r, s), value in np.ndenumerate(kernel):
            axes[f"k{i}"].text(s, r, f"{value:g}", ha="center", va="center", fontsize=12,
                               color="white" if abs(value) > 0.6 * k_max else "black")
        axes[f"k{i}"].set(title=f"kernel: {name}", xlabel="tap column", ylabel="tap row",
                          xticks=range(kernel.shape[1]), yticks=range(kernel.shape[0]))
        r_img = axes[f"r{i}"].imshow(np.asarray(responses[name]), cmap=DIVERGING, vmin=-r_max, vmax=r_max)
        axes[f"r{i}"].set(title=f"response: {name}", xlabel="column", ylabel="row")
    fig.colorbar(k_img, ax=[axes[f"k{i}"] for i in range(len(names))], label="kernel weight", shrink=0.9)
    fig.colorbar(r_img, ax=[axes[f"r{i}"] for i in range(len(names))], label="response (shared scale)", shrink=0.9)
    fig.suptitle("2-D cross-correlation: each kernel lights up (red) or darkens (blue) where the image matches it")
    return fig


def _draw_window_grid(ax, n, k, stride, padding, dilation, outputs):
    """One input grid (n x n plus padding) with the taps of the given output positions marked."""
    size = n + 2 * padding
    for i in range(size):
        for j in range(size):
            is_pad = not (padding <= i < padding + n and padding <= j < padding + n)
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=PALETTE["padding"] if is_pad else "white",
                                   edgecolor="#555555", linewidth=1))
    styles = [dict(facecolor=PALETTE["kernel"], alpha=0.55), dict(facecolor="none", edgecolor=PALETTE["output"], linewidth=3.5)]
    for (p, q), style in zip(outputs, styles):
        for r in range(k):
            for s in range(k):
                i, j = p * stride + r * dilation, q * stride + s * dilation
                ax.add_patch(Rectangle((j - 0.42, i - 0.42), 0.84, 0.84, **style))
    ax.set(xlim=(-0.6, size - 0.4), ylim=(size - 0.4, -0.6), aspect="equal",
           xticks=range(size), yticks=range(size), xlabel="padded column", ylabel="padded row")
    ax.tick_params(labelsize=9)


def plot_stride_padding_dilation(cases):
    """Panels of input grids, one per case dict (n, k, stride, padding, dilation); square inputs.

    Marks the taps of output (0, 0) (filled red) and of the next output along a row
    (green outline); the title gives the output size from `conv_output_size`.
    """
    fig, axes = plt.subplots(1, len(cases), figsize=(4.2 * len(cases), 5.6))
    for ax, case in zip(axes, cases):
        n, k, s, p, d = (case[key] for key in ("n", "k", "stride", "padding", "dilation"))
        out = conv_output_size(n, k, s, p, d)
        _draw_window_grid(ax, n, k, s, p, d, outputs=[(0, 0), (0, 1)] if out > 1 else [(0, 0)])
        ax.set_title(f"{case.get('label', '')}\nk={k}, s={s}, p={p}, d={d}\n{n}×{n} → {out}×{out}")
    handles = [Patch(facecolor="white", edgecolor="#555555", label="input"),
               Patch(facecolor=PALETTE["padding"], edgecolor="#555555", label="zero padding"),
               Patch(facecolor=PALETTE["kernel"], alpha=0.55, label="taps of output (0, 0)"),
               Patch(facecolor="none", edgecolor=PALETTE["output"], linewidth=3, label="taps of output (0, 1)")]
    fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False)
    fig.get_layout_engine().set(rect=(0, 0.07, 1, 0.93))
    fig.suptitle("Stride, padding, dilation: out = ⌊(n + 2p − d(k−1) − 1) / s⌋ + 1")
    return fig


def _matrix(ax, values, title, xlabel, ylabel, cmap=None, norm=None, xticklabels=None, yticklabels=None, fontsize=11):
    """A small matrix with every entry written in its cell."""
    values = np.asarray(values)
    if cmap is None:  # a plain table: colour carries no meaning, so draw white cells
        shown = ax.imshow(np.zeros_like(values), cmap="Greys", vmin=0, vmax=1, aspect="equal")
    else:
        shown = ax.imshow(values, cmap=cmap, norm=norm, aspect="equal")
    for (r, c), value in np.ndenumerate(values):
        ax.text(c, r, f"{value:g}", ha="center", va="center", fontsize=fontsize,
                color="white" if cmap is not None and norm(value) < 0.45 else "black")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xticks=range(values.shape[1]), yticks=range(values.shape[0]))
    if xticklabels is not None:
        ax.set_xticklabels(xticklabels, fontsize=9)
    if yticklabels is not None:
        ax.set_yticklabels(yticklabels, fontsize=9)
    return shown


def plot_im2col(x, w, columns, y, kernel_size):
    """conv2d as one matrix product: weights (C_out, C*kh*kw) @ columns (C*kh*kw, L) = y (C_out, L).

    Drawn for stride 1 and no padding (the position labels assume it).

    x: (C, H, W) one input; w: (C_out, C, kh, kw); columns: (C*kh*kw, L) its unfolding;
    y: (C_out, L). Input and column entries share a colour scale, so each column is
    visibly a copy of one window; output position 0's window is outlined in both.
    """
    x, w, columns, y = (np.asarray(a) for a in (x, w, columns, y))
    c_in, kh, kw = x.shape[0], *kernel_size
    norm = Normalize(x.min(), x.max())
    mosaic = [[f"x{c}" for c in range(c_in)] + ["cols"] * 2, ["w"] * c_in + ["y"] * 2]
    fig, axes = plt.subplot_mosaic(mosaic, figsize=(16, 9), height_ratios=[1.6, 1])
    for c in range(c_in):
        shown = _matrix(axes[f"x{c}"], x[c], f"input channel c={c}", "column", "row", cmap=SEQUENTIAL, norm=norm)
        axes[f"x{c}"].add_patch(Rectangle((-0.5, -0.5), kw, kh, fill=False, edgecolor=PALETTE["kernel"], linewidth=4))
    row_names = [f"c{c} r{r} s{s}" for c in range(c_in) for r in range(kh) for s in range(kw)]
    w_out = x.shape[2] - kw + 1  # the figure shows stride 1, no padding
    position_names = [f"{p},{q}" for p in range(columns.shape[1] // w_out) for q in range(w_out)]
    _matrix(axes["cols"], columns, f"unfolded input (im2col): {columns.shape[0]} × {columns.shape[1]}",
            "output position (p, q), row by row", "row = (channel c, tap r, tap s)", cmap=SEQUENTIAL, norm=norm,
            xticklabels=position_names, yticklabels=row_names, fontsize=10)
    axes["cols"].add_patch(Rectangle((-0.5, -0.5), 1, columns.shape[0], fill=False, edgecolor=PALETTE["kernel"], linewidth=4))
    fig.colorbar(shown, ax=[axes["cols"]], label="input value (same colour = same input entry)", shrink=0.8)
    _matrix(axes["w"], w.reshape(w.shape[0], -1), f"weights as a matrix: {w.shape[0]} × {columns.shape[0]}",
            "column = (channel c, tap r, tap s)", "output channel", xticklabels=row_names)
    axes["w"].tick_params(axis="x", labelrotation=60)
    for spine in axes["w"].spines.values():
        spine.set_edgecolor(PALETTE["kernel"])
        spine.set_linewidth(3)
    _matrix(axes["y"], y, f"output = weights @ columns: {y.shape[0]} × {y.shape[1]}", "output position (p, q), row by row",
            "output channel", xticklabels=position_names)
    for spine in axes["y"].spines.values():
        spine.set_edgecolor(PALETTE["output"])
        spine.set_linewidth(3)
    fig.suptitle(f"im2col: a {kh}×{kw} conv over {c_in} channels is one matrix multiply")
    return fig


TAP_COLOURS = ["#d62728", "#ff7f0e", "#bcbd22", "#17becf", "#9467bd", "#8c564b", "#e377c2"]


def _tap_matrix(ax, taps, weights, title):
    """A matrix whose entry is kernel tap taps[i, j] (-1: zero), coloured by tap, its weight written in."""
    taps = np.asarray(taps)
    colours = np.ones(taps.shape + (3,))
    for tap in range(len(weights)):
        colours[taps == tap] = plt.matplotlib.colors.to_rgb(TAP_COLOURS[tap % len(TAP_COLOURS)])
    ax.imshow(colours, aspect="equal")
    for (r, c), tap in np.ndenumerate(taps):
        ax.text(c, r, f"{weights[tap]:g}" if tap >= 0 else "0", ha="center", va="center", fontsize=10,
                color="black" if tap >= 0 else "#bbbbbb")
    ax.set(title=title, xlabel="input index (column)", ylabel="output index (row)",
           xticks=range(taps.shape[1]), yticks=range(taps.shape[0]))
    ax.set_xticks(np.arange(-0.5, taps.shape[1]), minor=True)
    ax.set_yticks(np.arange(-0.5, taps.shape[0]), minor=True)
    ax.grid(which="minor", color="#dddddd", linewidth=0.8)
    ax.tick_params(which="minor", length=0)


def plot_conv_as_matrix(weights, toeplitz_taps, circulant_taps):
    """A 1-D cross-correlation as a matrix: banded (Toeplitz) on a line, circulant on a ring.

    weights: (k,) the kernel; toeplitz_taps: (n_out, n) and circulant_taps: (n, n) integer
    matrices holding, for each entry, the kernel tap stored there (-1 for a zero).
    """
    weights = np.asarray(weights)
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 7.2), width_ratios=[np.shape(toeplitz_taps)[1]] * 2)
    _tap_matrix(left, toeplitz_taps, weights,
                f"line: y = M x, M is {np.shape(toeplitz_taps)[0]}×{np.shape(toeplitz_taps)[1]} (Toeplitz)")
    _tap_matrix(right, circulant_taps, weights,
                f"ring: y = C x, C is {np.shape(circulant_taps)[0]}×{np.shape(circulant_taps)[1]} (circulant)")
    handles = [Patch(facecolor=TAP_COLOURS[j % len(TAP_COLOURS)], label=f"w[{j}] = {weights[j]:g}")
               for j in range(len(weights))]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    fig.get_layout_engine().set(rect=(0, 0.07, 1, 0.93))
    fig.suptitle(f"A convolution is a matrix built from {len(weights)} numbers: every row is the one above, "
                 "shifted one place")
    return fig


def plot_never_read(read_counts, k, stride, lengths, measured, lecture, k_1d, stride_1d):
    """Left: how many windows read each input cell of a strided 2-D conv (k x k kernel, stride
    `stride`; 0: never read). Right: 1-D output length against input length n (kernel k_1d,
    stride stride_1d), measured, next to the lecture's (n - (k-1)) / s.

    read_counts: (H, W) ints; lengths, measured, lecture: equal-length sequences (n, F.conv1d's
    output length, the lecture's value as a float).
    """
    read_counts = np.asarray(read_counts)
    lengths, measured, lecture = np.asarray(lengths), np.asarray(measured), np.asarray(lecture, dtype=float)
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 6.5), width_ratios=[1.1, 1])
    shown = left.imshow(read_counts, cmap="Blues", vmin=0, vmax=max(read_counts.max(), 1), aspect="equal")
    for (r, c), count in np.ndenumerate(read_counts):
        if count == 0:
            left.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="none", edgecolor=PALETTE["kernel"],
                                     hatch="//", linewidth=0))
        left.text(c, r, str(count), ha="center", va="center", fontsize=10,
                  color=PALETTE["kernel"] if count == 0 else "black")
    h, w = read_counts.shape
    left.set(title=f"{h}×{w} input, {k}×{k} kernel, stride {stride}: windows reading each cell\n"
                   "(red, 0: never read by any window)",
             xlabel="input column", ylabel="input row", xticks=range(w), yticks=range(h))
    fig.colorbar(shown, ax=left, label="windows that read the cell", shrink=0.8,
                 ticks=range(int(read_counts.max()) + 1))
    exact = np.isclose(lecture, np.round(lecture))
    right.plot(lengths, lecture, "-", color=PALETTE["reference"], label="lecture: (n − (k−1)) / s")
    right.plot(lengths, measured, "o", color=PALETTE["output"], markersize=7, label="F.conv1d's output length")
    right.plot(lengths[~exact], lecture[~exact], "x", color=PALETTE["kernel"], markersize=9, mew=2,
               label="lecture's value not a whole number")
    right.set(title=f"1-D, k = {k_1d}, stride {stride_1d}: the count is the lecture's value rounded up",
              xlabel="input length n", ylabel="output length")
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.legend(loc="upper left")
    right.grid(alpha=0.3)
    fig.suptitle("When the stride does not divide evenly: ⌊(n − k) / s⌋ + 1 windows, the last cells unread")
    return fig
