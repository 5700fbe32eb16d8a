"""NMF and one-sided NMF recover planted factors (up to order and scale) on exact low-rank data."""
import itertools

import pytest
import torch

from course.analysis.nmf import nmf, one_sided_nmf


def matched_cosines(truth, found):
    """Cosines between each true row and its found row, for the best matching of rows (order-free)."""
    a = truth / truth.norm(dim=1, keepdim=True)
    b = found / found.norm(dim=1, keepdim=True).clamp_min(1e-12)
    cos = a @ b.T
    rank = len(a)
    best = max(itertools.permutations(range(rank)), key=lambda p: sum(cos[i, p[i]] for i in range(rank)))
    return torch.stack([cos[i, best[i]] for i in range(rank)])


def planted(seed, signed_w, M=75, K=30, rank=3):
    """H (rank, K) >= 0 with about half its entries zero; W >= 0 (sparse) or of any sign."""
    g = torch.Generator().manual_seed(seed)
    H = torch.rand(rank, K, generator=g) * (torch.rand(rank, K, generator=g) < 0.5)
    if signed_w:
        W = torch.randn(M, rank, generator=g)
    else:
        W = torch.rand(M, rank, generator=g) * (torch.rand(M, rank, generator=g) < 0.5)
    return W, H


@pytest.mark.parametrize("seed", range(4))
def test_nmf_recovers_planted_factors(seed):
    W, H = planted(seed, signed_w=False)
    W_found, H_found = nmf(W @ H, rank=3, seed=seed)
    assert (W_found >= 0).all() and (H_found >= 0).all()
    # measured: min cosine 0.99999 on these seeds; 0.99 is the contract
    assert matched_cosines(H, H_found).min() >= 0.99
    assert matched_cosines(W.T, W_found.T).min() >= 0.99


@pytest.mark.parametrize("seed", range(4))
def test_one_sided_nmf_recovers_planted_factors_with_signed_spatial_side(seed):
    W, H = planted(seed, signed_w=True)
    V = W @ H
    W_found, H_found = one_sided_nmf(V, rank=3, seed=seed)
    assert (H_found >= 0).all() and (W_found < 0).any()
    assert matched_cosines(H, H_found).min() >= 0.99
    assert matched_cosines(W.T, W_found.T).min() >= 0.99
    torch.testing.assert_close(W_found @ H_found, V, atol=1e-4, rtol=0)  # exact data, float32 sums


def test_factors_are_ordered_by_contribution_and_rows_of_h_have_unit_norm():
    W, H = planted(0, signed_w=True)
    W = W * torch.tensor([0.2, 3.0, 1.0])  # planted factor 1 dominates, then 2, then 0
    W_found, H_found = one_sided_nmf(W @ H, rank=3)
    torch.testing.assert_close(H_found.norm(dim=1), torch.ones(3))
    contribution = W_found.norm(dim=0) * H_found.norm(dim=1)
    assert (contribution[:-1] >= contribution[1:]).all()
    first = H_found[0] / H_found[0].norm()
    assert torch.dot(first, H[1] / H[1].norm()) > 0.99


def test_nmf_is_deterministic_for_a_seed_and_rejects_negative_data():
    W, H = planted(1, signed_w=False)
    first, second = nmf(W @ H, rank=3, seed=5), nmf(W @ H, rank=3, seed=5)
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    with pytest.raises(ValueError, match="non-negative"):
        nmf(-(W @ H) - 1, rank=2)
    with pytest.raises(ValueError, match="rank"):
        nmf(W @ H, rank=0)


def test_one_sided_nmf_fits_noisy_data_about_as_well_as_the_best_rank_r_approximation():
    W, H = planted(2, signed_w=True)
    V = W @ H + 0.05 * torch.randn(75, 30, generator=torch.Generator().manual_seed(0))
    W_found, H_found = one_sided_nmf(V, rank=3)
    s = torch.linalg.svdvals(V)
    best_error = s[3:].square().sum().sqrt()
    assert (V - W_found @ H_found).norm() <= 1.05 * best_error
