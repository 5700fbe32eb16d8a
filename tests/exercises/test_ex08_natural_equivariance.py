"""Graded tests for exercise 08 (course/exercises/ex08_natural_equivariance.py): rotation families.

References are written here from the docstrings' definitions, by a different route than the
obvious one: the turn of a kernel by plain Python bilinear interpolation, tap by tap, and
checked against torch.rot90 at quarter turns (a convention that DESIGN.md fixes); cosines and
correlations in plain Python sums; the shift of a tuning curve by indexing (a[(n - s) mod A])
instead of torch.roll. The course's family tools (`course.analysis.families`) are switched off
in the sandbox.

Tolerance: float64 everywhere. The turn at a quarter turn matches rot90 up to the rounding of
cos(90°) ≈ 6e-17 (atol 1e-12); elsewhere the reference and the student's sums differ in order
only: assert_close's float64 defaults (rtol 1e-7, atol 1e-7). Angles and unit numbers must be
exact, so the cases are built with one clear winner (no near-ties).
"""
import math

import pytest
import torch

from course.grading.sandbox import exercise

FORBIDDEN = ["course.analysis.families.rotate_image", "course.analysis.families.transformed_copies",
             "course.analysis.families.match_matrix", "course.analysis.families.find_families",
             "course.analysis.families.find_families_from_tuning", "course.analysis.families.tuning_offsets"]

ex08 = exercise("ex08_natural_equivariance", forbid=FORBIDDEN)


def randn(*shape, seed):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ---- turning a kernel ------------------------------------------------------------------------------------

def reference_turn(kernel, degrees):
    """One (k, k) kernel turned counter-clockwise, tap by tap, with bilinear interpolation in plain Python."""
    k = kernel.shape[-1]
    c = (k - 1) / 2
    t = math.radians(degrees)
    values = kernel.tolist()

    def tap(row, col):
        return values[row][col] if 0 <= row < k and 0 <= col < k else 0.0

    out = torch.empty(k, k, dtype=torch.float64)
    for i in range(k):
        for j in range(k):
            x, y = j - c, c - i
            row, col = c - (-math.sin(t) * x + math.cos(t) * y), c + (math.cos(t) * x + math.sin(t) * y)
            r0, c0 = math.floor(row), math.floor(col)
            fr, fc = row - r0, col - c0
            out[i, j] = ((1 - fr) * (1 - fc) * tap(r0, c0) + (1 - fr) * fc * tap(r0, c0 + 1)
                         + fr * (1 - fc) * tap(r0 + 1, c0) + fr * fc * tap(r0 + 1, c0 + 1))
    return out


def reference_turn_all(w, degrees):
    flat = w.reshape(-1, *w.shape[-2:])
    return torch.stack([reference_turn(kernel, degrees) for kernel in flat]).reshape(w.shape)


NAMED_KERNEL = torch.arange(9.0, dtype=torch.float64).reshape(3, 3)  # every entry different


@pytest.mark.points(1)
@pytest.mark.parametrize("degrees", [0.0, 90.0, 180.0, 270.0, -90.0, 450.0])
def test_rotate_kernel_quarter_turns_are_rot90(degrees):
    for w in (NAMED_KERNEL, randn(2, 3, 5, 5, seed=int(degrees) % 7)):
        expected = torch.rot90(w, round(degrees / 90) % 4, dims=(-2, -1))
        torch.testing.assert_close(ex08.rotate_kernel(w, degrees), expected, rtol=0, atol=1e-12)


@pytest.mark.points(2)
@pytest.mark.parametrize("degrees, shape", [(45.0, (3, 3)), (30.0, (2, 5, 5)), (-20.0, (3, 2, 3, 3)),
                                            (137.0, (1, 7, 7)), (200.0, (4, 4))])
def test_rotate_kernel_bilinear_between_quarter_turns(degrees, shape):
    w = randn(*shape, seed=len(shape) + int(abs(degrees)))
    got = ex08.rotate_kernel(w, degrees)
    torch.testing.assert_close(got, reference_turn_all(w, degrees))


@pytest.mark.points(1)
def test_rotate_kernel_named_diagonal_case():
    """One tap straight above the centre, turned by 45°, lands up-left between taps: the top-left tap gets
    part of it, the far corners nothing."""
    w = torch.zeros(3, 3, dtype=torch.float64)
    w[0, 1] = 1.0  # straight up from the centre, one tap away
    turned = ex08.rotate_kernel(w, 45.0)  # now it points up-left, at distance 1: between taps
    torch.testing.assert_close(turned, reference_turn(w, 45.0))
    assert turned[0, 0] > 0 and turned[0, 2] == 0 and turned[2, 2] == 0
    assert turned.shape == (3, 3) and turned.dtype == torch.float64


# ---- the rotation test on weights ----------------------------------------------------------------------------

def reference_match(weights, unit, angles):
    best = None
    for a in angles:
        turned = reference_turn_all(weights[unit], a).flatten().tolist()
        for j in range(len(weights)):
            if j == unit:
                continue
            target = weights[j].flatten().tolist()
            dot = sum(p * q for p, q in zip(turned, target))
            norms = math.sqrt(sum(p * p for p in turned)) * math.sqrt(sum(q * q for q in target))
            cosine = dot / norms if norms > 0 else 0.0
            if best is None or cosine > best[2]:
                best = (j, float(a), cosine)
    return best


def family_weights(seed, angles=(0.0, 90.0, 40.0, 200.0), others=3, channels=2, k=5, noise=0.05):
    """Unit 0 and turned copies of it (with a little noise) at the given angles, then random units."""
    base = randn(channels, k, k, seed=seed)
    members = [reference_turn_all(base, a) + noise * randn(channels, k, k, seed=seed + 10 + n)
               for n, a in enumerate(angles)]
    return torch.stack(members + [randn(channels, k, k, seed=seed + 50 + n) for n in range(others)])


def check_match(got, expected):
    assert isinstance(got, tuple) and len(got) == 3, "expected (unit, angle, cosine)"
    assert isinstance(got[0], int) and isinstance(got[1], float) and isinstance(got[2], float), \
        f"expected (int, float, float), got {tuple(type(v).__name__ for v in got)}"
    assert got[:2] == expected[:2]
    assert got[2] == pytest.approx(expected[2], rel=1e-9, abs=1e-12)


@pytest.mark.points(3)
@pytest.mark.parametrize("seed, unit", [(0, 0), (1, 2), (2, 5)])
def test_best_rotated_match_finds_the_turned_copy(seed, unit):
    weights = family_weights(seed)
    angles = [float(a) for a in range(0, 360, 10)]
    expected = reference_match(weights, unit, angles)
    check_match(ex08.best_rotated_match(weights, unit, angles), expected)


@pytest.mark.points(2)
def test_best_rotated_match_named_quarter_turn_family():
    """Unit 1 is unit 2 turned by a quarter turn; unit 3 a half turn of it, twice as strong, with some noise; 0 is unrelated."""
    base = randn(3, 3, 3, seed=7)
    weights = torch.stack([randn(3, 3, 3, seed=8), torch.rot90(base, 1, dims=(-2, -1)), base,
                           torch.rot90(base, 2, dims=(-2, -1)) * 2.0 + 0.4 * randn(3, 3, 3, seed=9)])
    got = ex08.best_rotated_match(weights, 2, [0.0, 45.0, 90.0, 135.0, 180.0])
    check_match(got, (1, 90.0, reference_match(weights, 2, [90.0])[2]))
    assert got[2] == pytest.approx(1.0, abs=1e-9)


@pytest.mark.points(1)
def test_best_rotated_match_zero_units_have_cosine_zero():
    weights = torch.stack([randn(1, 3, 3, seed=1), torch.zeros(1, 3, 3, dtype=torch.float64), -randn(1, 3, 3, seed=1)])
    angles = [0.0, 180.0, 30.0]
    check_match(ex08.best_rotated_match(weights, 0, angles), reference_match(weights, 0, angles))


# ---- tuning curves -----------------------------------------------------------------------------------------

def bump_curve(peak_deg, angles=36, width=30.0, seed=0, noise=0.02, base=0.1):
    """A single-bump tuning curve with a little noise (no exact symmetry, so no near-ties)."""
    theta = torch.arange(angles, dtype=torch.float64) * 360.0 / angles
    distance = (theta - peak_deg + 180) % 360 - 180
    return base + torch.exp(-(distance / width) ** 2 / 2) + noise * randn(angles, seed=seed)


def reference_offset(a, b):
    n = len(a)
    a, b = a.tolist(), b.tolist()
    ma, mb = sum(a) / n, sum(b) / n
    best = (0.0, -math.inf)
    for s in range(n):
        moved = [a[(m - s) % n] - ma for m in range(n)]
        centred = [v - mb for v in b]
        norm = math.sqrt(sum(v * v for v in moved) * sum(v * v for v in centred))
        correlation = sum(p * q for p, q in zip(moved, centred)) / norm if norm > 0 else 0.0
        if correlation > best[1]:
            best = (s * 360.0 / n, correlation)
    return best if best[1] > -math.inf else (0.0, 0.0)


def check_offset(got, expected):
    assert isinstance(got, tuple) and len(got) == 2 and all(isinstance(v, float) for v in got), \
        f"expected (offset_deg, correlation) as two floats, got {got!r}"
    assert got[0] == expected[0]
    assert got[1] == pytest.approx(expected[1], rel=1e-9, abs=1e-12)


@pytest.mark.points(3)
@pytest.mark.parametrize("peak_a, peak_b, angles", [(40.0, 130.0, 36), (300.0, 20.0, 36), (90.0, 90.0, 24),
                                                     (225.0, 90.0, 8)])
def test_tuning_offset_shift_that_carries_a_onto_b(peak_a, peak_b, angles):
    a = bump_curve(peak_a, angles, seed=1)
    b = 2.0 * bump_curve(peak_b, angles, seed=2) + 0.5  # scale and baseline do not matter to a correlation
    expected = reference_offset(a, b)
    assert expected[0] == (peak_b - peak_a) % 360
    check_offset(ex08.tuning_offset(a, b), expected)


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", range(3))
def test_tuning_offset_random_curves(seed):
    a, b = randn(12, seed=seed), randn(12, seed=seed + 100)
    check_offset(ex08.tuning_offset(a, b), reference_offset(a, b))


@pytest.mark.points(1)
def test_tuning_offset_constant_curve_has_correlation_zero():
    check_offset(ex08.tuning_offset(torch.full((12,), 3.0, dtype=torch.float64), randn(12, seed=4)), (0.0, 0.0))


@pytest.mark.points(3)
@pytest.mark.parametrize("unit, threshold", [(0, 0.9), (3, 0.9), (1, 0.5)])
def test_family_from_tuning_members_and_offsets(unit, threshold):
    curves = torch.stack([bump_curve(30.0, seed=1), bump_curve(150.0, seed=2), bump_curve(270.0, seed=3),
                          bump_curve(30.0, width=90.0, seed=4),  # a broad unit: a poor match for the narrow ones
                          bump_curve(100.0, seed=5), randn(36, seed=6)])
    expected = []
    for j in range(len(curves)):
        offset, correlation = reference_offset(curves[unit], curves[j])
        if correlation >= threshold:
            expected.append((j, offset))
    expected.sort(key=lambda member: (member[1], member[0]))
    got = ex08.family_from_tuning(curves, unit, threshold)
    assert isinstance(got, list), f"expected a list of (member, offset) pairs, got {type(got).__name__}"
    assert [(int(j), float(o)) for j, o in got] == expected
