"""Figures for the parameter-transformation lesson: tied weights, their gradients, hypernetworks.

Colours: each free parameter u[j] has its own colour (`PARAMETER_COLOURS`), and every
weight that is a copy of u[j], every gradient on such a copy and every step it takes is
drawn in that colour. Models keep one colour each (`MODEL_COLOURS`); the true curve is black.
Every function returns a Figure of fixed size.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from course.runtime.style import PALETTE

PARAMETER_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"]
MODEL_COLOURS = {
    "hypernetwork": "#2ca02c",
    "fixed G, sees context": "#d62728",
    "wide fixed G, sees context": "#9467bd",
    "fixed G, x only": PALETTE["reference"],
}


def _parameter_legend(n):
    return [Patch(color=PARAMETER_COLOURS[j], label=f"copies of u[{j}]") for j in range(n)]


def plot_tied_gradients(u, index, w, grad_w, grad_u, grad_u_by_hand):
    """Four panels: u; the tied matrix w = u[index]; dC/dw per copy; per-u sums vs autograd dC/du.

    u (n,), index and w and grad_w (n, n), grad_u and grad_u_by_hand (n,).
    """
    u, index, w, grad_w = map(np.asarray, (u, index, w, grad_w))
    grad_u, grad_u_by_hand = np.asarray(grad_u), np.asarray(grad_u_by_hand)
    n = len(u)
    colours = PARAMETER_COLOURS[:n]
    fig, axes = plt.subplots(1, 4, figsize=(18, 5.6), width_ratios=[0.8, 1.1, 1.6, 1])

    axes[0].bar(np.arange(n), u, color=colours)
    axes[0].axhline(0, color="black", linewidth=0.6)
    axes[0].set(title="free parameters u", xlabel="j", ylabel="u[j]", xticks=np.arange(n))

    axes[1].imshow(index, cmap=ListedColormap(colours), vmin=-0.5, vmax=n - 0.5)
    for (r, c), value in np.ndenumerate(w):
        axes[1].text(c, r, f"u[{index[r, c]}]\n{value:.2f}", ha="center", va="center", fontsize=11, color="white")
    axes[1].set(title="w = H(u): each weight a copy", xlabel="column of w", ylabel="row of w",
                xticks=np.arange(n), yticks=np.arange(n))

    flat_index, flat_grad = index.reshape(-1), grad_w.reshape(-1)
    order = np.argsort(flat_index, kind="stable")  # copies of the same u side by side
    axes[2].bar(np.arange(len(order)), flat_grad[order], color=[colours[j] for j in flat_index[order]])
    axes[2].axhline(0, color="black", linewidth=0.6)
    rows, cols = np.unravel_index(order, index.shape)
    axes[2].set_xticks(np.arange(len(order)), [f"{r},{c}" for r, c in zip(rows, cols)], rotation=90, fontsize=9)
    axes[2].set(title="dC/dw: one gradient per copy", xlabel="weight (row, column), grouped by parameter",
                ylabel="dC/dw")

    for boundary in np.flatnonzero(np.diff(flat_index[order])) + 0.5:  # separate the groups of copies
        axes[2].axvline(boundary, color="black", linewidth=0.6, linestyle=":")

    axes[3].bar(np.arange(n), grad_u_by_hand, color=colours, width=0.7)
    for j in range(n):  # each copy's gradient as a dot: the bar is their sum
        copies = flat_grad[flat_index == j]
        axes[3].plot(j + np.linspace(-0.22, 0.22, len(copies)), copies, "o", color="black", markersize=5,
                     label="one copy's dC/dw" if j == 0 else None)
    axes[3].plot(np.arange(n), grad_u, "o", color="black", markerfacecolor="none", markersize=16,
                 markeredgewidth=2, label="autograd dC/du")
    axes[3].axhline(0, color="black", linewidth=0.6)
    axes[3].set(title="bar: sum of the dots = dC/du", xlabel="j", ylabel="dC/du[j]", xticks=np.arange(n))
    handles = _parameter_legend(n) + axes[3].get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    fig.get_layout_engine().set(rect=(0, 0.06, 1, 0.94))
    fig.suptitle("Weight sharing: the gradient of a shared parameter is the sum of its copies' gradients")
    return fig


def plot_tied_step(index, change_tied, change_untied):
    """Change of every weight after one step: on u (tied) vs directly on w (untied), grouped by parameter."""
    index, change_tied, change_untied = map(lambda a: np.asarray(a).reshape(-1), (index, change_tied, change_untied))
    n = index.max() + 1
    order = np.argsort(index, kind="stable")
    positions = np.arange(len(order))
    colours = [PARAMETER_COLOURS[j] for j in index[order]]
    fig, axes = plt.subplots(1, 2, figsize=(15, 5.4), sharey=True)
    for ax, change, title in ((axes[0], change_untied, "untied step on w: each copy moves by its own gradient"),
                              (axes[1], change_tied, "step on u: every copy moves by the group's summed gradient")):
        ax.bar(positions, change[order], color=colours)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set(title=title, xlabel="weight, grouped by the parameter it copies", ylabel="change of w",
               xticks=[])
    fig.legend(handles=_parameter_legend(n), loc="lower center", ncol=n, frameon=False)
    fig.get_layout_engine().set(rect=(0, 0.07, 1, 0.93))
    fig.suptitle("The induced update -lr (dH/du)(dH/du)ᵀ dC/dw keeps tied weights equal; a plain step breaks the tie")
    return fig


def plot_induced_update_residual(lrs, residual_by_name, floor=1e-18):
    """|true change of w - induced update| against the step size, log-log, one line per H."""
    fig, ax = plt.subplots(figsize=(8.5, 6))
    lrs = np.asarray(lrs)
    styles = {0: dict(color="#d62728", marker="o"), 1: dict(color="#1f77b4", marker="s")}
    for k, (name, residual) in enumerate(residual_by_name.items()):
        ax.loglog(lrs, np.maximum(np.asarray(residual), floor), linewidth=2, label=name, **styles[k % 2])
    first = np.asarray(next(iter(residual_by_name.values())))
    ax.loglog(lrs, 5 * first[-1] * (lrs / lrs[-1]) ** 2, "--", color="black", linewidth=1.2, label="reference slope 2 (∝ lr²)")
    ax.set(title="Induced update: exact for linear H, first order otherwise", xlabel="step size lr",
           ylabel="max |H(u − lr·dC/du) − w − induced update|")
    ax.legend(loc="center right")
    return fig


def plot_hypernetwork_fits(x, true_curves, predictions, contexts):
    """A few test contexts: the true curve and each model's fit. x (M,), true_curves (K, M),
    predictions {model name: (K, M)}, contexts (K, 3) = (a, b, c)."""
    x, true_curves, contexts = map(np.asarray, (x, true_curves, contexts))
    K = len(true_curves)
    columns = (K + 1) // 2
    fig, axes = plt.subplots(2, columns, figsize=(5 * columns, 8.5), sharex=True, sharey=True)
    for k, ax in enumerate(axes.flat[:K]):
        ax.plot(x, true_curves[k], color="black", linewidth=3, label="true a·sin(b·x + c)")
        for name, curves in predictions.items():
            ax.plot(x, np.asarray(curves)[k], color=MODEL_COLOURS[name], linewidth=2.2, label=name)
        a, b, c = contexts[k]
        ax.set_title(f"a = {a:.2f}, b = {b:.2f}, c = {c:.2f}")
        ax.axhline(0, color="black", linewidth=0.5)
    for ax in axes.flat[K:]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("x")
    for ax in axes[:, 0]:
        ax.set_ylabel("y")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.get_layout_engine().set(rect=(0, 0.06, 1, 0.94))
    fig.suptitle("Unseen contexts: the hypernetwork builds a G per context; one fixed G must serve them all")
    return fig


def plot_test_curves(histories, parameter_counts):
    """Test mean squared error per epoch for each model, log scale.

    histories: {name: History}; parameter_counts: {name: number of trainable parameters}.
    """
    fig, ax = plt.subplots(figsize=(10, 6.8))
    for name, history in histories.items():
        epochs = np.arange(1, len(history.test_loss) + 1)
        ax.semilogy(epochs, history.test_loss, color=MODEL_COLOURS[name], linewidth=2.2,
                    label=f"{name} ({parameter_counts[name]} parameters)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(title="Test error on unseen contexts", xlabel="epoch", ylabel="test mean squared error")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
    return fig
