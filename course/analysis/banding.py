"""A number for weight banding: do a conv layer's kernels change along rows or along columns?

Take one unit's kernel for one input channel, a k x k patch of weights w[i, j] (i: row, j:
column). Remove its mean. What is left (its *spatial variance*) can be split:

    row part     r[i]    = mean over j of w[i, j]        (one value per row: horizontal bands)
    column part  c[j]    = mean over i of w[i, j]        (one value per column: vertical bands)

    horizontal = sum_ij r[i]^2 / sum_ij w[i, j]^2        fraction explained by the row means
    vertical   = sum_ij c[j]^2 / sum_ij w[i, j]^2        fraction explained by the column means

(with the mean removed the row part, the column part and the rest are orthogonal, so
horizontal + vertical <= 1). A kernel made of horizontal stripes has horizontal = 1 and
vertical = 0; vertical stripes the opposite; a kernel of independent random weights has
on average 1 / (k + 1) of each (0.25 for 3 x 3: the row means are k - 1 of the k^2 - 1
directions of variation).

For a whole layer (C_out, C_in, k, k) we pool the sums over all input channels of a unit
(so channels with large weights count more), then average the fractions over units (over
the units of several layers, for a group of layers):

    banding_score(weights) -> {"horizontal": h, "vertical": v, "banding": h - v}

banding > 0: horizontal bands (the kernels encode vertical position); < 0: vertical bands;
near 0: no preferred direction.
"""
from __future__ import annotations

import torch


def spatial_part(weights: torch.Tensor) -> torch.Tensor:
    """The weights (C_out, C_in, kh, kw) with each kernel's mean removed: how they vary across space."""
    weights = weights.detach()
    return weights - weights.mean(dim=(-2, -1), keepdim=True)


def band_fractions(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per unit: fraction of spatial variance explained by row means and by column means.

    weights: (C_out, C_in, kh, kw). Returns (horizontal (C_out,), vertical (C_out,)), each in [0, 1].
    A unit whose kernels are all spatially constant has no spatial variance: both are 0.
    """
    if weights.dim() != 4:
        raise ValueError(f"weights must be (C_out, C_in, kh, kw), got shape {tuple(weights.shape)}")
    # BEGIN SOLUTION
    w = spatial_part(weights.double())
    kh, kw = w.shape[-2:]
    total = w.pow(2).sum(dim=(1, 2, 3))
    rows = w.mean(dim=-1).pow(2).sum(dim=(1, 2)) * kw
    columns = w.mean(dim=-2).pow(2).sum(dim=(1, 2)) * kh
    safe = torch.where(total > 0, total, torch.ones_like(total))
    zero = torch.zeros_like(total)
    return torch.where(total > 0, rows / safe, zero), torch.where(total > 0, columns / safe, zero)
    # END SOLUTION
    # RELEASE: from course.exercises.ex10_weight_banding import band_fractions as yours
    # RELEASE: from course.runtime.yours import yours_or_torch
    # RELEASE: return yours_or_torch(yours, _fractions_by_least_squares, weights.detach())


# BEGIN SOLUTION
# END SOLUTION
# RELEASE: def _fractions_by_least_squares(weights):
# RELEASE:     """The same fractions as the energy of a least-squares fit by row (column) indicators."""
# RELEASE:     w = spatial_part(weights.double())
# RELEASE:     kh, kw = w.shape[-2:]
# RELEASE:     taps = torch.arange(kh * kw)
# RELEASE:     flat = w.reshape(w.shape[0], -1, kh * kw).transpose(1, 2)  # (C_out, taps, C_in)
# RELEASE:     total = flat.pow(2).sum(dim=(1, 2))
# RELEASE:     fractions = []
# RELEASE:     for indicators in ((taps[:, None] // kw == torch.arange(kh)).double(),
# RELEASE:                        (taps[:, None] % kw == torch.arange(kw)).double()):
# RELEASE:         fit = indicators @ torch.linalg.lstsq(indicators.expand(len(flat), -1, -1), flat).solution
# RELEASE:         energy = fit.pow(2).sum(dim=(1, 2))
# RELEASE:         fractions.append(torch.where(total > 0, energy / torch.where(total > 0, total, 1.0), 0.0))
# RELEASE:     return tuple(fractions)


def banding_score(weights) -> dict[str, float]:
    """Mean horizontal and vertical fractions over a layer's units, and banding = horizontal - vertical.

    weights: one layer's (C_out, C_in, kh, kw), or a list of layers: then the mean runs over
    the units of all of them (the score of a group of layers).
    """
    layers = [weights] if isinstance(weights, torch.Tensor) else list(weights)
    fractions = [band_fractions(layer) for layer in layers]
    h = torch.cat([horizontal for horizontal, _ in fractions]).mean().item()
    v = torch.cat([vertical for _, vertical in fractions]).mean().item()
    return {"horizontal": h, "vertical": v, "banding": h - v}


def random_baseline(kernel_size: int) -> float:
    """Expected fraction (each direction) for kernels of independent random weights: 1 / (k + 1)."""
    return 1.0 / (kernel_size + 1)


def synthetic_weights(kind: str, c_out: int = 16, c_in: int = 8, k: int = 3, seed: int = 0,
                      noise: float = 0.0) -> torch.Tensor:
    """Test weights (c_out, c_in, k, k) whose banding is known: "horizontal", "vertical" or "random".

    horizontal: every row constant (w[i, j] = a[i]); vertical: every column constant;
    random: independent Gaussian weights. noise: add that much independent Gaussian noise.
    """
    g = torch.Generator().manual_seed(seed)
    if kind == "horizontal":
        w = torch.randn(c_out, c_in, k, 1, generator=g).expand(c_out, c_in, k, k)
    elif kind == "vertical":
        w = torch.randn(c_out, c_in, 1, k, generator=g).expand(c_out, c_in, k, k)
    elif kind == "random":
        w = torch.randn(c_out, c_in, k, k, generator=g)
    else:
        raise ValueError(f"kind must be 'horizontal', 'vertical' or 'random', got {kind!r}")
    return (w + noise * torch.randn(c_out, c_in, k, k, generator=g)).contiguous()
