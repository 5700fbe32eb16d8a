"""Graded tests for exercise 07 (course/exercises/ex07_group_convolution.py): p4 / p4m filter banks.

References are computed here with kernels.groups (the DESIGN.md conventions) and
kernels.group_reference (the expanded banks), which are switched off in the sandbox.
Tolerance: rotations, flips, rolls and max only move or pick entries, so every result must
be exact: assert_close(rtol=0, atol=0), which also checks shape and dtype.
"""
import pytest
import torch

from course.grading.sandbox import exercise
from kernels.group_reference import expand_group_filters, expand_lift_filters
from kernels.groups import P4, P4M

FORBIDDEN = [
    "kernels.p4_lift", "kernels.p4_conv", "kernels.p4m_lift", "kernels.p4m_conv",
    "kernels.group_reference.expand_lift_filters", "kernels.group_reference.expand_group_filters",
    "kernels.group_reference.p4_lift", "kernels.group_reference.p4_conv",
    "kernels.group_reference.p4m_lift", "kernels.group_reference.p4m_conv",
    "kernels.groups.Group.act_on_image", "kernels.groups.Group.act_on_feature_map",
]

ex07 = exercise("ex07_group_convolution", forbid=FORBIDDEN)
EXACT = dict(rtol=0, atol=0)


def randn(*shape, seed, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


NAMED_FILTER = torch.arange(9.0).reshape(3, 3)  # every entry different: any wrong turn shows


@pytest.mark.points(1)
@pytest.mark.parametrize("r", [0, 1, 2, 3, 5, -1])
def test_rotate_filters_named_filter(r):
    torch.testing.assert_close(ex07.rotate_filters(NAMED_FILTER, r), torch.rot90(NAMED_FILTER, r, dims=(-2, -1)), **EXACT)


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", range(3))
def test_rotate_filters_random_batches(seed):
    w = randn(2, 3, 5, 5, seed=seed, dtype=torch.float32)
    for r in range(4):
        torch.testing.assert_close(ex07.rotate_filters(w, r), P4.act_on_image(w, r), **EXACT)


@pytest.mark.points(2)
@pytest.mark.parametrize("g", range(8))
def test_flip_then_rotate_matches_design_convention(g):
    torch.testing.assert_close(ex07.flip_then_rotate(NAMED_FILTER, g), P4M.act_on_image(NAMED_FILTER, g), **EXACT)
    w = randn(3, 2, 3, 3, seed=g)
    torch.testing.assert_close(ex07.flip_then_rotate(w, g), P4M.act_on_image(w, g), **EXACT)


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(1, 1, 3, 3), (3, 2, 3, 3), (2, 4, 5, 5), (4, 1, 1, 1)])
def test_p4_lift_filter_bank_matches_reference(shape):
    w = randn(*shape, seed=sum(shape))
    torch.testing.assert_close(ex07.p4_lift_filter_bank(w), expand_lift_filters(w, P4), **EXACT)


@pytest.mark.points(3)
@pytest.mark.parametrize("shape", [(1, 1, 4, 3, 3), (2, 3, 4, 3, 3), (3, 2, 4, 5, 5)])
def test_p4_conv_filter_bank_matches_reference(shape):
    w = randn(*shape, seed=sum(shape))
    torch.testing.assert_close(ex07.p4_conv_filter_bank(w), expand_group_filters(w, P4), **EXACT)


@pytest.mark.points(3)
@pytest.mark.parametrize("r", range(4))
def test_rotate_feature_map_matches_group_action(r):
    f = randn(2, 3, 4, 6, 6, seed=r, dtype=torch.float32)
    torch.testing.assert_close(ex07.rotate_feature_map(f, r), P4.act_on_feature_map(f, r), **EXACT)


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5, 5), (1, 2, 8, 4, 4), (3, 1, 4, 1, 1)])
def test_group_pool_is_max_over_group_axis(shape):
    f = randn(*shape, seed=len(shape) + shape[0], dtype=torch.float32)
    torch.testing.assert_close(ex07.group_pool(f), f.max(dim=2).values, **EXACT)


def reference_equivariance_error(weight, x, stride):
    k = weight.shape[-1]
    bank = expand_lift_filters(weight, P4)
    lift = lambda images: torch.nn.functional.conv2d(  # noqa: E731
        images, bank, stride=stride, padding=k // 2).unflatten(1, (weight.shape[0], 4))
    return max((lift(P4.act_on_image(x, r)) - P4.act_on_feature_map(lift(x), r)).abs().max().item() for r in (1, 2, 3))


@pytest.mark.points(2)
@pytest.mark.parametrize("k, size, stride", [(1, 5, 1), (3, 6, 1), (2, 6, 1), (3, 7, 2), (5, 9, 2), (4, 8, 2), (3, 10, 3)])
def test_check_equivariance_zero_when_stride_fits(k, size, stride):
    """(H + 2*(k//2) - k) divisible by the stride: equivariant, float64 rounding only."""
    weight, x = randn(3, 2, k, k, seed=k), randn(2, 2, size, size, seed=size)
    error = ex07.check_equivariance(weight, x, stride)
    assert isinstance(error, float)
    assert 0 <= error <= 1e-10


@pytest.mark.points(2)
@pytest.mark.parametrize("k, size, stride", [(3, 6, 2), (3, 8, 3), (2, 7, 2), (5, 10, 2)])
def test_check_equivariance_reports_the_error_when_stride_does_not_fit(k, size, stride):
    """The layer is not equivariant here; the same large number must come back (float64, rtol 1e-9)."""
    weight, x = randn(3, 2, k, k, seed=k), randn(2, 2, size, size, seed=size)
    expected = reference_equivariance_error(weight, x, stride)
    assert expected > 0.1
    torch.testing.assert_close(ex07.check_equivariance(weight, x, stride), expected, rtol=1e-9, atol=1e-12)
