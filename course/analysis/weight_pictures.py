"""Weights as pictures: a unit's spatial weights, its input channels folded into three colours.

A conv unit's weights (C_in, kh, kw) are C_in separate little images, one per input
channel: too many to look at. But units rarely use their input channels independently;
a few *groups* of channels usually carry most of the weight. One-sided NMF
(`course.analysis.nmf.one_sided_nmf`) finds three such groups (non-negative channel
factors) and, for every weight position, how much of each group the unit uses there (any
sign). Showing those three numbers as red, green and blue turns a unit's weights into one
small colour image, in which spatial structure (stripes, bands, centre-surround) jumps out.

    rgb, factors = weights_to_rgb(model.conv3.weight)          # (C_out, kh, kw, 3), (3, C_in)
    rgb_b, _ = weights_to_rgb(other_model.conv3.weight, factors=factors)   # same colours

The colour rule (the same for every unit and every call):
- the factorisation is shared by all C_out units passed in, so a colour means the same
  channel group in every unit of one call; pass `factors` to reuse it for another model or
  variant with the same input channels;
- factors are ordered by contribution (largest first): first -> red, second -> green,
  third -> blue;
- grey (0.5, 0.5, 0.5) is a zero weight; using a factor positively (excitation) raises its
  colour channel above 0.5, negatively (inhibition) lowers it, so inhibition by the red
  factor reads as cyan, by green as magenta, by blue as yellow;
- each unit is scaled by its own largest |coefficient| (`scale="unit"`) so weak units are
  still visible, or all units by one common scale (`scale="shared"`) to compare strengths.
With fewer than three input channels, the missing factors are zero rows (their colour
channel stays at 0.5).
"""
from __future__ import annotations

import torch

from course.analysis.nmf import one_sided_nmf


def weights_to_rgb(weights: torch.Tensor, factors: torch.Tensor | None = None, scale: str = "unit",
                   iters: int = 500, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights (C_out, C_in, kh, kw) -> (rgb (C_out, kh, kw, 3) in [0, 1], factors (3, C_in) >= 0).

    factors: channel factors to reuse (rows of unit norm, as returned); None computes them
    by one-sided NMF of all the units' weights together. scale: "unit" or "shared".
    """
    if weights.dim() != 4:
        raise ValueError(f"weights must be (C_out, C_in, kh, kw), got shape {tuple(weights.shape)}")
    if scale not in ("unit", "shared"):
        raise ValueError(f"scale must be 'unit' or 'shared', got {scale!r}")
    c_out, c_in, kh, kw = weights.shape
    V = weights.detach().float().permute(0, 2, 3, 1).reshape(-1, c_in)  # one row per (unit, y, x)
    if factors is None:
        factors = _three_channel_factors(V, iters, seed)
    elif tuple(factors.shape) != (3, c_in) or (factors < 0).any():
        raise ValueError(f"factors must be non-negative of shape (3, {c_in}), got {tuple(factors.shape)}")
    coefficients = _coefficients(V, factors.float()).reshape(c_out, kh, kw, 3)
    return _to_colour(coefficients, scale), factors


def _three_channel_factors(V, iters, seed):
    """One-sided NMF with rank min(3, C_in); zero rows pad it to three factors."""
    rank = min(3, V.shape[1])
    _, H = one_sided_nmf(V, rank, iters=iters, seed=seed)
    return torch.cat([H, H.new_zeros(3 - rank, V.shape[1])])


def _coefficients(V, factors):
    """Least-squares coefficients C (rows, 3) with V ≈ C @ factors; zero factors get 0."""
    used = factors.norm(dim=1) > 0
    C = V.new_zeros(V.shape[0], 3)
    F = factors[used]
    gram = F @ F.T + 1e-8 * torch.eye(F.shape[0])
    C[:, used] = torch.linalg.solve(gram, F @ V.T).T
    return C


def _to_colour(coefficients, scale):
    """Map signed coefficients (C_out, kh, kw, 3) to [0, 1] with 0 -> grey 0.5."""
    if scale == "unit":
        peak = coefficients.abs().amax(dim=(1, 2, 3), keepdim=True)
    else:
        peak = coefficients.abs().max()
    return (0.5 + 0.5 * coefficients / peak.clamp_min(1e-12)).clamp(0, 1)
