"""Non-negative matrix factorisation: a few interpretable directions out of many channels.

A layer of a CNN talks to the next one through hundreds of weights per unit, one slab per
input channel. NMF summarises such a matrix V (M, K) as V ≈ W @ H with a small `rank`:
each row of H is a *factor*, a non-negative mix of the K channels (a group of channels that
tend to be used together), and W says how strongly each of the M rows (spatial positions,
output units...) uses each factor. Non-negativity makes the factors add up like parts,
never cancel, which is why they tend to be readable.

Two flavours:

    W, H = nmf(V, rank=3)              # V >= 0:  W >= 0 and H >= 0
    W, H = one_sided_nmf(V, rank=2)    # V any sign: H >= 0 (channel factors), W any sign

The one-sided version is the one for weights: a weight can excite or inhibit, so the
spatial side W must be allowed both signs, while the channel side H stays a non-negative
grouping of channels ("the high-frequency channels", "the low-frequency channels").

How: hierarchical alternating least squares (HALS). Holding everything else fixed, the
best non-negative value of one factor has a closed form (a least-squares step clipped at
zero); sweeping over the factors in turn converges much faster than the classic
multiplicative updates. With W free of sign, W has an exact least-squares update instead.

A one-sided factorisation is only pinned down up to mixing: if H's rows are non-negative, so
are positive blends of them, and W can absorb the inverse mix with no change in the fit.
Among those equally good answers we want the "purest" factors, the ones with the most zero
channels (the edges of the cone of non-negative vectors the data spans). A small L1 pull on
H, with its rows held at unit length, selects them; the pull fades to zero over the first
half of the iterations so the final answer is a plain least-squares fit.

Both functions return factors ordered by decreasing contribution (norm of W[:, r] times
norm of H[r]) with every row of H scaled to unit norm, and are deterministic for a seed.
"""
from __future__ import annotations

import torch

_EPS = 1e-12


def nmf(V: torch.Tensor, rank: int, iters: int = 500, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Factor a non-negative V (M, K) as W (M, rank) @ H (rank, K), both non-negative.

    Factors are ordered by decreasing contribution and the rows of H have unit norm.
    """
    V64 = _check(V, rank, "V")
    if (V64 < 0).any():
        raise ValueError("nmf: V must be non-negative (use one_sided_nmf for signed data)")
    W, H = _initial_factors(V64, rank, seed)
    for _ in range(iters):
        H = _hals_rows(V64, W, H, penalty=0.0)
        W = _hals_rows(V64.T, H.T, W.T, penalty=0.0).T
    return _ordered(W, H, V.dtype)


def one_sided_nmf(V: torch.Tensor, rank: int, iters: int = 500, seed: int = 0,
                  sparsity: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Factor a signed V (M, K) as W (M, rank) of any sign @ H (rank, K) >= 0.

    `sparsity` is the strength of the L1 pull that picks the purest channel factors among
    equally good fits (relative to the data's scale); it decays to 0 by iters // 2.
    Factors are ordered by decreasing contribution and the rows of H have unit norm.
    """
    V64 = _check(V, rank, "V")
    W, H = _initial_factors(V64.abs(), rank, seed)
    W = _least_squares_W(V64, H)
    scale = V64.abs().mean().item()
    for step in range(iters):
        fade = max(0.0, 1.0 - step / max(1, iters // 2))
        H = _hals_rows(V64, W, H, penalty=sparsity * scale * fade * V64.shape[0] ** 0.5)
        norms = H.norm(dim=1, keepdim=True).clamp_min(_EPS)
        H = H / norms
        W = _least_squares_W(V64, H)
    return _ordered(W, H, V.dtype)


def _check(V, rank, name) -> torch.Tensor:
    if not isinstance(V, torch.Tensor) or V.dim() != 2:
        raise ValueError(f"{name} must be a 2-D tensor (M, K), got {getattr(V, 'shape', type(V))}")
    if not 1 <= rank <= min(V.shape):
        raise ValueError(f"rank must be between 1 and min(M, K) = {min(V.shape)}, got {rank}")
    return V.detach().to(torch.float64)


def _initial_factors(V, rank, seed):
    """Random non-negative factors whose product has the data's mean magnitude."""
    g = torch.Generator().manual_seed(seed)
    level = (V.mean().clamp_min(_EPS) / rank) ** 0.5
    W = torch.rand(V.shape[0], rank, generator=g, dtype=torch.float64) * level
    H = torch.rand(rank, V.shape[1], generator=g, dtype=torch.float64) * level
    return W, H


def _hals_rows(V, W, H, penalty):
    """One HALS sweep over the rows of H (rank, K) for V ≈ W @ H, each row clipped at zero.

    Row r's best value with the others fixed is H[r] + (W[:, r] · residual - penalty) / |W[:, r]|².
    """
    H = H.clone()
    WtV, WtW = W.T @ V, W.T @ W
    for r in range(H.shape[0]):
        gradient = WtV[r] - WtW[r] @ H - penalty
        H[r] = (H[r] + gradient / WtW[r, r].clamp_min(_EPS)).clamp_min(0)
        if H[r].max() <= 0:  # a dead factor: restart it small rather than divide by zero later
            H[r] = _EPS ** 0.5
    return H


def _least_squares_W(V, H):
    """The unconstrained best W for V ≈ W @ H (a ridge of 1e-10 keeps it defined)."""
    gram = H @ H.T + 1e-10 * torch.eye(H.shape[0], dtype=H.dtype)
    return torch.linalg.solve(gram, H @ V.T).T


def _ordered(W, H, dtype):
    """Rows of H at unit norm (W absorbs the scale); factors by decreasing contribution."""
    norms = H.norm(dim=1).clamp_min(_EPS)
    H, W = H / norms[:, None], W * norms[None, :]
    order = torch.argsort(W.norm(dim=0), descending=True, stable=True)
    return W[:, order].to(dtype), H[order].to(dtype)
