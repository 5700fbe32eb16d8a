"""Figures for the kernels lesson: the implicit-GEMM index map, tiles and memory, checks, benchmarks.

Colours keep the course's meanings (`course.runtime.style.PALETTE`): the input in blue, the weights
(the kernel) in red, outputs in green, zero padding in light orange; the reference (PyTorch) in
grey and the C++ backend in `CPP_COLOUR`. Every function returns a Figure of fixed size.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch, Rectangle

from course.chapters.conv_kernels import ConvGeometry, input_address
from course.runtime.style import DIVERGING, PALETTE

CPP_COLOUR = "#9467bd"
WINDOW_PADDING = "#e6550d"  # a window tap that falls in the padding (darker than the padding colour)
BACKEND_COLOURS = {"torch": PALETTE["reference"], "cpp": CPP_COLOUR, "triton": PALETTE["class1"], "cuda": "#8c564b"}


def _cells(ax, colours, edge="white"):
    """Draw a grid of coloured unit squares; colours[i][j] is the colour of row i, column j."""
    for i, row in enumerate(colours):
        for j, colour in enumerate(row):
            ax.add_patch(Rectangle((j, i), 1, 1, facecolor=colour, edgecolor=edge, linewidth=0.8))
    ax.set_xlim(0, len(colours[0]))
    ax.set_ylim(len(colours), 0)
    ax.set_aspect("equal")


def plot_index_map(g: ConvGeometry, m: int, t: int):
    """The GEMM matrix X (M x T) with row m and entry (m, t) marked, and where that entry lives in the input.

    Left: one channel of the padded input per panel, the window of output pixel m shaded, the
    cell X[m, t] reads outlined. Right: X itself, row m shaded, entry (m, t) outlined.
    """
    M, _, T = g.gemm_shape
    n, c, h, w, inside = input_address(g, m, t)
    ph, pw = g.padding
    fig = plt.figure(figsize=(15, 6.5))
    grid = fig.add_gridspec(1, g.C + 1, width_ratios=[1] * g.C + [1.25])
    T_c = g.R * g.S  # reduction indices per input channel
    taps = [input_address(g, m, tt) for tt in range(T)]  # (n, c, h, w, inside) of every entry of row m
    for channel in range(g.C):
        ax = fig.add_subplot(grid[0, channel])
        colours = [[PALETTE["padding"] if not (0 <= hh < g.H and 0 <= ww < g.W) else "#dbe9f6"
                    for ww in range(-pw, g.W + pw)] for hh in range(-ph, g.H + ph)]
        for _, _, hh, ww, _ in taps[channel * T_c:(channel + 1) * T_c]:
            colours[int(hh) + ph][int(ww) + pw] = WINDOW_PADDING if colours[int(hh) + ph][int(ww) + pw] == PALETTE["padding"] else PALETTE["signal"]
        _cells(ax, colours)
        if channel == c:
            ax.add_patch(Rectangle((w + pw, h + ph), 1, 1, fill=False, edgecolor=PALETTE["kernel"], linewidth=4))
        ax.set_xticks(np.arange(g.W + 2 * pw) + 0.5, np.arange(-pw, g.W + pw))
        ax.set_yticks(np.arange(g.H + 2 * ph) + 0.5, np.arange(-ph, g.H + ph))
        ax.set(title=f"input channel c = {channel}", xlabel="column w", ylabel="row h")
    ax = fig.add_subplot(grid[0, g.C])
    colours = [["#f2f2f2"] * T for _ in range(M)]
    colours[m] = [PALETTE["signal"] if bool(inside_tap) else WINDOW_PADDING for *_, inside_tap in taps]
    _cells(ax, colours, edge="#cccccc")
    ax.add_patch(Rectangle((t, m), 1, 1, fill=False, edgecolor=PALETTE["kernel"], linewidth=4))
    ax.set_xticks(np.arange(0, T, T_c) + 0.5, [f"c={i}" for i in range(g.C)])
    ax.set_yticks(np.arange(0, M, g.Q) + 0.5, np.arange(0, M, g.Q))
    ax.set(title=f"X: {M} rows m = (n, p, q), {T} columns t = (c, r, s)", xlabel="reduction index t (by channel)",
           ylabel="output pixel m")
    p, q = (m % (g.P * g.Q)) // g.Q, m % g.Q
    r, s = (t % (g.R * g.S)) // g.S, t % g.S
    where = f"x[{n}, {c}, {h}, {w}]" if inside else "padding: 0"
    fig.suptitle(f"Implicit GEMM: X[m={m}, t={t}] with (n,p,q) = ({n},{p},{q}), (c,r,s) = ({c},{r},{s}) reads "
                 f"h = p·{g.stride[0]} − {ph} + r, w = q·{g.stride[1]} − {pw} + s  →  {where}")
    fig.legend(handles=[Patch(color=PALETTE["signal"], label="window of pixel m = row m of X"),
                        Patch(color=WINDOW_PADDING, label="window taps in the padding: X = 0"),
                        Patch(facecolor="white", edgecolor=PALETTE["kernel"], linewidth=3, label="entry X[m, t]"),
                        Patch(color=PALETTE["padding"], label="zero padding (never read)")],
               loc="lower center", ncol=4, frameon=False)
    fig.get_layout_engine().set(rect=(0, 0.07, 1, 0.93))
    return fig


def plot_tiles_and_memory(g_small: ConvGeometry, block_m: int, block_n: int, footprint: dict, layer_label: str):
    """Left: the output matrix Y (M x K) of a small layer cut into program tiles, ragged tiles marked.
    Right: bytes of a realistic layer's tensors, its im2col matrix and one program's tiles (log scale)."""
    M, K, _ = g_small.gemm_shape
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, 6.5), gridspec_kw={"width_ratios": [1, 1.4]})
    row_tiles, column_tiles = -(-M // block_m), -(-K // block_n)
    for i in range(row_tiles):
        for j in range(column_tiles):
            rows, cols = min(block_m, M - i * block_m), min(block_n, K - j * block_n)
            ragged = rows < block_m or cols < block_n
            left.add_patch(Rectangle((j * block_n, i * block_m), block_n, block_m, facecolor="#f2f2f2",
                                     edgecolor="black", linewidth=1, hatch="//" if ragged else None))
            left.add_patch(Rectangle((j * block_n, i * block_m), cols, rows, facecolor=PALETTE["output"],
                                     alpha=0.55, edgecolor="none"))
            left.text(j * block_n + block_n / 2, i * block_m + block_m / 2, f"program\n({i}, {j})",
                      ha="center", va="center", fontsize=11)
    left.set(xlim=(0, column_tiles * block_n), ylim=(row_tiles * block_m, 0),
             title=f"Y = X @ Wmat cut into {block_m}x{block_n} tiles: one program each",
             xlabel=f"output channel k (K = {K})", ylabel=f"output pixel m (M = {M})")
    left.legend(handles=[Patch(color=PALETTE["output"], alpha=0.55, label="outputs the program stores"),
                         Patch(facecolor="#f2f2f2", edgecolor="black", hatch="//", label="masked lanes (past M or K)")],
                loc="lower right", framealpha=0.95)
    names = list(footprint)
    megabytes = np.array([footprint[name] for name in names]) / 2**20
    colours = [PALETTE["signal"], PALETTE["kernel"], PALETTE["output"], PALETTE["class1"], "#17becf"]
    right.barh(names, megabytes, color=colours[: len(names)])
    for y, value in enumerate(megabytes):
        right.text(value * 1.15, y, f"{value:.3g} MiB", va="center", fontsize=12)
    right.set_xscale("log")
    right.set_xlim(megabytes.min() / 3, megabytes.max() * 20)
    right.invert_yaxis()
    right.set(title=f"Memory of {layer_label} (float32)", xlabel="MiB (log scale)")
    fig.suptitle("Tiling: each program needs only its tiles; im2col stores every window in full")
    return fig


def plot_verification(errors: dict, tolerances: dict, zero_start, poison_start):
    """Left: each check's error against its tolerance (log scale). Middle/right: one output channel of a
    buggy launch that skips the last tile, starting from a zero buffer and from a NaN-poisoned one."""
    fig, axes = plt.subplots(1, 3, figsize=(16, 6), gridspec_kw={"width_ratios": [1.5, 1, 1]})
    ax = axes[0]
    names = list(errors)
    values = np.maximum([errors[name] for name in names], 1e-18)
    ax.barh(names, values, color=PALETTE["output"], label="measured error")
    ax.scatter([tolerances[name] for name in names], names, marker="|", s=900, color=PALETTE["kernel"],
               linewidths=3, label="tolerance", zorder=3)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set(title="Triton backend vs PyTorch", xlabel="relative error (log scale)")
    ax.legend(loc="center right", framealpha=0.95)
    zero_start, poison_start = np.asarray(zero_start, dtype=float), np.asarray(poison_start, dtype=float)
    limit = float(np.nanmax(np.abs(zero_start))) or 1.0
    for ax, image, title in ((axes[1], zero_start, "buffer started at 0:\nthe missing tile looks right"),
                             (axes[2], poison_start, "buffer started at NaN:\nthe missing tile shows (black)")):
        shown = np.ma.masked_invalid(image)
        cmap = plt.get_cmap(DIVERGING).with_extremes(bad="black")
        handle = ax.imshow(shown, cmap=cmap, vmin=-limit, vmax=limit)
        ax.set(title=title, xlabel="output column q", ylabel="output row p")
        fig.colorbar(handle, ax=ax, shrink=0.8, label="output value")
    fig.suptitle("Verifying a kernel: errors within tolerance, and poison that exposes unwritten outputs")
    return fig


def plot_benchmark(rows, machine: str, gpu_note: str):
    """GFLOP/s of each timed backend per shape, forward and backward, from kernels.bench rows."""
    shapes = list(dict.fromkeys(tuple(r.shape) for r in rows))
    backends = list(dict.fromkeys(r.backend for r in rows))
    by_key = {(tuple(r.shape), r.backend): r for r in rows}
    fig, axes = plt.subplots(1, 2, figsize=(15, 6.5), sharey=True)
    width = 0.8 / len(backends)
    labels = [f"{s[0]},{s[1]},{s[2]},{s[3]}\nK{s[4]} k{s[5]} s{s[6]}" + (f" g{s[8]}" if s[8] > 1 else "") for s in shapes]
    for ax, direction in zip(axes, ("forward", "backward")):
        for i, backend in enumerate(backends):
            speed = [getattr(by_key[(s, backend)], f"{direction}_gflops") for s in shapes]
            bars = ax.bar(np.arange(len(shapes)) + (i - (len(backends) - 1) / 2) * width, speed, width,
                          color=BACKEND_COLOURS.get(backend, "black"), label=backend)
            ax.bar_label(bars, fmt="%.3g", fontsize=10)
        ax.set_xticks(np.arange(len(shapes)), labels, fontsize=10)
        ax.set(title=direction, xlabel="shape: N,C,H,W / K out, k kernel, s stride, g groups")
        ax.legend()
    axes[0].set_ylabel("GFLOP/s at the best of alternating rounds\n(float32, higher is faster)")
    fig.suptitle(f"conv2d on this machine: {machine}\nGPU: {gpu_note}")
    return fig
