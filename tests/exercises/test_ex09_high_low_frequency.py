"""Graded tests for exercise 09 (course/exercises/ex09_high_low_frequency.py): tuning table and one-sided NMF.

References are written here, each a different route from the obvious one: the tuning table
by a plain loop over the stimuli; the matrix layout entry by entry; least squares by
torch.linalg.lstsq (QR, not the normal equations); the HALS sweep as its coordinate-wise
definition (each channel k of row r minimises the squared error with everything else fixed,
clipped at 0); and the NMF loop by composing those references. Beside them, properties that
hold whatever the route: least squares leaves a residual orthogonal to H's rows, a sweep never
raises the error, and a planted factorisation with non-negative factors is recovered.
The course's NMF and tuning tools are switched off in the sandbox.

Tolerance: the table and the layout only pick entries: exact (rtol=0, atol=0; nan in the same
cells). The rest are float64 sums in another order: assert_close's float64 defaults (rtol 1e-7,
atol 1e-7); the NMF loop, 15 sweeps of those, 1e-6.
"""
import math

import pytest
import torch

from course.grading.sandbox import exercise

FORBIDDEN = ["course.analysis.nmf.nmf", "course.analysis.nmf.one_sided_nmf",
             "course.analysis.tuning.group_responses", "course.analysis.tuning.tuning"]

ex09 = exercise("ex09_high_low_frequency", forbid=FORBIDDEN)
EXACT = dict(rtol=0, atol=0, equal_nan=True)


def generator(seed):
    return torch.Generator().manual_seed(seed)


def randn(*shape, seed):
    return torch.randn(*shape, generator=generator(seed), dtype=torch.float64)


def rand(*shape, seed):
    return torch.rand(*shape, generator=generator(seed), dtype=torch.float64)


# ---- the tuning table ---------------------------------------------------------------------------------

def reference_table(responses, orientations, frequencies):
    o_values = sorted(set(orientations.tolist()))
    f_values = sorted(set(frequencies.tolist()))
    table = torch.full((len(o_values), len(f_values)), math.nan, dtype=responses.dtype)
    for response, o, f in zip(responses, orientations.tolist(), frequencies.tolist()):
        a, b = o_values.index(o), f_values.index(f)
        if math.isnan(table[a, b]) or response > table[a, b]:
            table[a, b] = response
    return (torch.tensor(o_values, dtype=orientations.dtype), torch.tensor(f_values, dtype=frequencies.dtype), table)


def stimulus_grid(orientations, frequencies, phases, seed, dtype=torch.float32):
    """Every (orientation, frequency, phase), in a shuffled order, with random responses."""
    o, f, p = torch.meshgrid(torch.tensor(orientations, dtype=dtype), torch.tensor(frequencies, dtype=dtype),
                             torch.arange(phases, dtype=dtype), indexing="ij")
    order = torch.randperm(o.numel(), generator=generator(seed))
    responses = torch.randn(o.numel(), generator=generator(seed + 1), dtype=dtype)
    return responses, o.reshape(-1)[order], f.reshape(-1)[order]


def check_table(got, expected):
    assert isinstance(got, tuple) and len(got) == 3, "expected (orientation_values, frequency_values, table)"
    for got_part, expected_part in zip(got, expected):
        torch.testing.assert_close(got_part, expected_part, **EXACT)


@pytest.mark.points(1)
def test_tuning_table_named_case():
    responses = torch.tensor([1.0, 5.0, 2.0, -1.0, 3.0, 0.5])
    orientations = torch.tensor([90.0, 0.0, 90.0, 0.0, 0.0, 90.0])
    frequencies = torch.tensor([0.1, 0.1, 0.1, 0.3, 0.1, 0.3])
    expected = (torch.tensor([0.0, 90.0]), torch.tensor([0.1, 0.3]), torch.tensor([[5.0, -1.0], [2.0, 0.5]]))
    check_table(ex09.tuning_table(responses, orientations, frequencies), expected)


@pytest.mark.points(2)
@pytest.mark.parametrize("orientations, frequencies, phases, seed", [
    ([0.0, 45.0, 90.0, 135.0], [0.05, 0.1, 0.25], 4, 0),
    ([0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0, 210.0], [0.35, 0.1], 3, 1),
    ([10.0], [0.2, 0.05, 0.4, 0.15, 0.3], 2, 2),
])
def test_tuning_table_shuffled_grids(orientations, frequencies, phases, seed):
    responses, o, f = stimulus_grid(orientations, frequencies, phases, seed)
    check_table(ex09.tuning_table(responses, o, f), reference_table(responses, o, f))


@pytest.mark.points(2)
def test_tuning_table_missing_pairs_are_nan_and_dtype_follows_responses():
    responses, o, f = stimulus_grid([0.0, 90.0, 180.0], [0.1, 0.2, 0.3], 2, seed=5, dtype=torch.float64)
    keep = ~((o == 90.0) & (f == 0.2)) & ~((o == 0.0) & (f == 0.3))
    responses, o, f = responses[keep], o[keep], f[keep]
    expected = reference_table(responses, o, f)
    assert torch.isnan(expected[2]).sum() == 2
    check_table(ex09.tuning_table(responses, o, f), expected)


# ---- the matrix NMF factors -----------------------------------------------------------------------------

@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 3, 3), (3, 4, 2, 5), (4, 2, 5, 5)])
def test_expanded_weight_matrix_layout(shape):
    members, channels, kh, kw = shape
    expanded = randn(*shape, seed=sum(shape))
    expected = torch.empty(members * kh * kw, channels, dtype=torch.float64)
    for f in range(members):
        for c in range(channels):
            for i in range(kh):
                for j in range(kw):
                    expected[f * kh * kw + i * kw + j, c] = expanded[f, c, i, j]
    torch.testing.assert_close(ex09.expanded_weight_matrix(expanded), expected, rtol=0, atol=0)


# ---- least squares for the signed side --------------------------------------------------------------------

@pytest.mark.points(3)
@pytest.mark.parametrize("m, k, rank", [(12, 5, 2), (30, 8, 3), (7, 4, 4), (9, 6, 1)])
def test_least_squares_spatial_matches_lstsq(m, k, rank):
    V, H = randn(m, k, seed=m), rand(rank, k, seed=k)
    W = ex09.least_squares_spatial(V, H)
    expected = torch.linalg.lstsq(H.T, V.T).solution.T
    torch.testing.assert_close(W, expected)
    # the residual is orthogonal to every row of H: nothing left that H could still explain
    torch.testing.assert_close((V - W @ H) @ H.T, torch.zeros(m, rank, dtype=torch.float64))


@pytest.mark.points(1)
def test_least_squares_spatial_exact_when_v_is_spanned_by_h():
    H = torch.tensor([[1.0, 0.0, 2.0, 0.0], [0.0, 3.0, 1.0, 1.0]], dtype=torch.float64)
    W_true = torch.tensor([[1.0, -2.0], [0.5, 0.0], [-3.0, 4.0]], dtype=torch.float64)
    torch.testing.assert_close(ex09.least_squares_spatial(W_true @ H, H), W_true)


# ---- one HALS sweep for the non-negative side ---------------------------------------------------------------

def reference_sweep(V, W, H):
    """Row by row, channel by channel: the error's minimiser in H[r, k] with everything else fixed, clipped at 0.

    The error in column k is || V[:, k] - Σ_s W[:, s] H[s, k] ||²; as a function of H[r, k] alone
    it is a parabola whose minimum is at W[:, r]·(V[:, k] - Σ_{s≠r} W[:, s] H[s, k]) / ||W[:, r]||².
    """
    H = H.clone()
    for r in range(H.shape[0]):
        length = float(W[:, r] @ W[:, r])
        if length == 0:
            continue
        for k in range(H.shape[1]):
            others = sum(W[:, s] * H[s, k] for s in range(H.shape[0]) if s != r)
            H[r, k] = max(0.0, float(W[:, r] @ (V[:, k] - others)) / length)
    return H


@pytest.mark.points(3)
@pytest.mark.parametrize("m, k, rank", [(10, 6, 2), (20, 5, 3), (8, 8, 1)])
def test_update_channel_factors_matches_coordinate_minimiser(m, k, rank):
    V, W, H = randn(m, k, seed=m), randn(m, rank, seed=k), rand(rank, k, seed=rank)
    got = ex09.update_channel_factors(V, W, H)
    torch.testing.assert_close(got, reference_sweep(V, W, H))
    assert (got >= 0).all()


@pytest.mark.points(1)
def test_update_channel_factors_never_raises_the_error_and_skips_unused_rows():
    V, W, H = randn(15, 6, seed=3), randn(15, 3, seed=4), rand(3, 6, seed=5)
    W[:, 1] = 0.0  # factor 1 is used nowhere: its row stays as it was
    got = ex09.update_channel_factors(V, W, H)
    torch.testing.assert_close(got[1], H[1])
    assert (V - W @ got).norm() <= (V - W @ H).norm() + 1e-12
    torch.testing.assert_close(got, reference_sweep(V, W, H))


# ---- the whole loop -----------------------------------------------------------------------------------------

def planted(seed, m=24, k=7, rank=2):
    """V = W_true @ H_true with H_true >= 0 and one channel of its own per factor (pure channels)."""
    H_true = rand(rank, k, seed=seed)
    H_true[0, 0] = H_true[1, 1] = 0.0
    H_true[0, 1], H_true[1, 0] = 1.0, 1.0
    W_true = randn(m, rank, seed=seed + 1)
    return W_true @ H_true


@pytest.mark.points(2)
@pytest.mark.parametrize("seed, iters", [(0, 1), (1, 15), (2, 0)])
def test_one_sided_nmf_follows_the_alternation(seed, iters):
    V = planted(seed) + 0.05 * randn(24, 7, seed=seed + 2)
    H0 = 0.1 + rand(2, 7, seed=seed + 3)
    H = H0.clone()
    for _ in range(iters):
        W = torch.linalg.lstsq(H.T, V.T).solution.T
        H = reference_sweep(V, W, H)
    W = torch.linalg.lstsq(H.T, V.T).solution.T
    got = ex09.one_sided_nmf(V, H0, iters)
    assert isinstance(got, tuple) and len(got) == 2, "expected (W, H)"
    torch.testing.assert_close(got[1], H, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(got[0], W, rtol=1e-6, atol=1e-6)


@pytest.mark.points(2)
@pytest.mark.parametrize("seed", range(2))
def test_one_sided_nmf_fits_a_planted_factorisation(seed):
    V = planted(seed)
    W, H = ex09.one_sided_nmf(V, 0.1 + rand(2, 7, seed=seed + 3), 100)
    assert (H >= 0).all()
    assert float((V - W @ H).norm() / V.norm()) < 1e-3
