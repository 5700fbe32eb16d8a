"""Graded tests for exercise 10 (course/exercises/ex10_weight_banding.py): the banding score.

The reference here is written as a projection, not as row and column means: the row part of a
kernel's spatial part s is its least-squares fit by a function of the row alone (one value
per row, fitted with torch.linalg.lstsq on row-indicator columns), the column part likewise,
and a fraction is the fitted part's squared norm over s's squared norm, pooled over input
channels. The fit of a mean-free kernel by row indicators is its row means, so both ways agree.
The course's banding tools (`course.analysis.banding`) are switched off in the sandbox.

Tolerance: float64 sums in another order, so assert_close's float64 defaults (rtol 1e-7,
atol 1e-7), which also check shape and dtype.
"""
import pytest
import torch

from course.grading.sandbox import exercise

FORBIDDEN = ["course.analysis.banding.band_fractions", "course.analysis.banding.banding_score",
             "torch.linalg.lstsq"]  # the tests' reference and the student copy's library compute it by least squares

ex10 = exercise("ex10_weight_banding", forbid=FORBIDDEN)


def randn(*shape, seed, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def fitted_energy(s, indicators):
    """Σ over kernels of the squared norm of s's least-squares fit by the indicator columns."""
    flat = s.reshape(-1, s.shape[-2] * s.shape[-1]).T  # (taps, kernels)
    coefficients = torch.linalg.lstsq(indicators, flat).solution
    return (indicators @ coefficients).pow(2).sum()


def reference_fractions(weights):
    w = weights.double()
    s = w - w.sum(dim=(-2, -1), keepdim=True) / (w.shape[-2] * w.shape[-1])
    kh, kw = w.shape[-2:]
    row_of_tap = torch.arange(kh * kw) // kw
    column_of_tap = torch.arange(kh * kw) % kw
    by_row = (row_of_tap[:, None] == torch.arange(kh)[None, :]).double()  # (taps, kh)
    by_column = (column_of_tap[:, None] == torch.arange(kw)[None, :]).double()  # (taps, kw)
    horizontal, vertical = [], []
    for unit in s:
        total = unit.pow(2).sum()
        if total == 0:
            horizontal.append(torch.tensor(0.0, dtype=torch.float64))
            vertical.append(torch.tensor(0.0, dtype=torch.float64))
        else:
            horizontal.append(fitted_energy(unit, by_row) / total)
            vertical.append(fitted_energy(unit, by_column) / total)
    return torch.stack(horizontal), torch.stack(vertical)


def stripes(kind, c_out=3, c_in=2, k=3, seed=0):
    """Kernels that are constant along rows ("horizontal") or along columns ("vertical")."""
    if kind == "horizontal":
        return randn(c_out, c_in, k, 1, seed=seed).expand(c_out, c_in, k, k).contiguous()
    return randn(c_out, c_in, 1, k, seed=seed).expand(c_out, c_in, k, k).contiguous()


@pytest.mark.points(2)
@pytest.mark.parametrize("kind, expected", [("horizontal", (1.0, 0.0)), ("vertical", (0.0, 1.0))])
def test_band_fractions_pure_stripes(kind, expected):
    horizontal, vertical = ex10.band_fractions(stripes(kind, seed=5))
    torch.testing.assert_close(horizontal, torch.full((3,), expected[0], dtype=torch.float64))
    torch.testing.assert_close(vertical, torch.full((3,), expected[1], dtype=torch.float64))


@pytest.mark.points(1)
def test_band_fractions_constant_and_checkerboard_kernels_have_no_bands():
    """A constant kernel has no spatial variance (0, 0); a ±1 checkerboard varies with neither row nor column alone."""
    checker = torch.tensor([[1.0, -1.0, 1.0, -1.0], [-1.0, 1.0, -1.0, 1.0]] * 2, dtype=torch.float64)
    weights = torch.stack([torch.full((2, 4, 4), 2.5, dtype=torch.float64), checker.expand(2, 4, 4)])
    horizontal, vertical = ex10.band_fractions(weights)
    torch.testing.assert_close(horizontal, torch.zeros(2, dtype=torch.float64))
    torch.testing.assert_close(vertical, torch.zeros(2, dtype=torch.float64))


@pytest.mark.points(2)
def test_band_fractions_rows_plus_columns():
    """w[i, j] = a[i] + b[j] + 7: the row part is a's variation, the column part b's, and nothing else."""
    a = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    b = torch.tensor([3.0, 0.0, -1.0, 2.0, 1.0], dtype=torch.float64)
    w = (a[:, None] + b[None, :] + 7.0).expand(1, 1, 3, 5)
    row_energy = 5 * (a - a.mean()).pow(2).sum()
    column_energy = 3 * (b - b.mean()).pow(2).sum()
    horizontal, vertical = ex10.band_fractions(w)
    torch.testing.assert_close(horizontal, (row_energy / (row_energy + column_energy)).reshape(1))
    torch.testing.assert_close(vertical, (column_energy / (row_energy + column_energy)).reshape(1))


@pytest.mark.points(2)
def test_band_fractions_pools_channels_before_dividing():
    """One unit: a strong horizontal channel and a weak vertical one. Pooled sums: 100/101 horizontal."""
    strong = torch.tensor([[10.0] * 3, [0.0] * 3, [-10.0] * 3], dtype=torch.float64)
    weak = torch.tensor([[1.0, 0.0, -1.0]] * 3, dtype=torch.float64)
    horizontal, vertical = ex10.band_fractions(torch.stack([strong, weak])[None])
    torch.testing.assert_close(horizontal, torch.tensor([100 / 101], dtype=torch.float64))
    torch.testing.assert_close(vertical, torch.tensor([1 / 101], dtype=torch.float64))


@pytest.mark.points(3)
@pytest.mark.parametrize("shape, dtype", [((6, 4, 3, 3), torch.float64), ((5, 3, 5, 5), torch.float32),
                                          ((4, 2, 3, 5), torch.float64), ((2, 7, 1, 4), torch.float64)])
def test_band_fractions_random_layers_match_projection(shape, dtype):
    weights = randn(*shape, seed=sum(shape), dtype=dtype)
    weights[0] = weights[0] + 4.0 * torch.arange(shape[-2], dtype=dtype)[:, None]  # one unit with a row trend
    got = ex10.band_fractions(weights)
    assert isinstance(got, tuple) and len(got) == 2, f"expected a pair (horizontal, vertical), got {type(got)}"
    expected = reference_fractions(weights)
    torch.testing.assert_close(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1])


@pytest.mark.points(2)
@pytest.mark.parametrize("kind, expected", [("horizontal", 1.0), ("vertical", -1.0)])
def test_banding_score_of_stripes(kind, expected):
    score = ex10.banding_score(stripes(kind, c_out=4, c_in=3, k=5, seed=9))
    assert isinstance(score, float), f"banding_score must return a Python float, got {type(score).__name__}"
    assert score == pytest.approx(expected, abs=1e-9)


@pytest.mark.points(2)
@pytest.mark.parametrize("seed", range(3))
def test_banding_score_random_layers_match_projection(seed):
    weights = randn(8, 4, 3, 3, seed=seed) + 0.6 * stripes("horizontal", c_out=8, c_in=4, seed=seed + 10)
    weights[:3] += 0.8 * stripes("vertical", c_out=3, c_in=4, seed=seed + 20)
    horizontal, vertical = reference_fractions(weights)
    score = ex10.banding_score(weights)
    assert isinstance(score, float), f"banding_score must return a Python float, got {type(score).__name__}"
    assert score == pytest.approx(float(horizontal.mean() - vertical.mean()), rel=1e-9, abs=1e-12)
