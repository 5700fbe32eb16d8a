"""Graded tests for exercise 07 (course/exercises/ex07_group_convolution.py): p4 / p4m filter banks.

Every reference is written here from torch.rot90, torch.flip and F.conv2d, never from a filter
bank: a bank is checked by what it computes. The p4 lifting layer is

    out[:, o, r] = x ⋆ rot(w[o], r) = rot((rot⁻¹ x_pad) ⋆ w[o], r)

(turning an image and a filter together turns their correlation), so the reference turns the
padded input back, correlates with the plain filter at stride 1, turns the result and keeps every
stride-th output: exact for any image size and stride. The group convolution likewise turns the
input group feature map (images turned, group axis rolled) instead of the filter. The course's
group convolutions (`kernels.p4_lift` and friends, `kernels.group_reference`) and the actions in
`kernels.groups` are switched off in the sandbox.

Tolerance: rotations, flips, rolls and max only move or pick entries, so those results must be
exact: assert_close(rtol=0, atol=0), which also checks shape and dtype. Layers built from a bank
are float64 sums compared with the reference's sums in another order: assert_close's float64
defaults (rtol 1e-7, atol 1e-7).
"""
import pytest
import torch
import torch.nn.functional as F

from course.grading.sandbox import exercise

FORBIDDEN = [
    "kernels.p4_lift", "kernels.p4_conv", "kernels.p4m_lift", "kernels.p4m_conv",
    "kernels.group_reference.expand_lift_filters", "kernels.group_reference.expand_group_filters",
    "kernels.group_reference.p4_lift", "kernels.group_reference.p4_conv",
    "kernels.group_reference.p4m_lift", "kernels.group_reference.p4m_conv",
    "kernels.group_reference.bank_by_impulses",
    "kernels.groups.Group.act_on_image", "kernels.groups.Group.act_on_feature_map",
    "torch.nn.functional.max_pool3d",
]

ex07 = exercise("ex07_group_convolution", forbid=FORBIDDEN)
EXACT = dict(rtol=0, atol=0)
IMAGE = (-2, -1)


def randn(*shape, seed, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def turn(x, r):
    """p4 element r on the images in the last two axes (DESIGN.md: torch.rot90, counter-clockwise)."""
    return torch.rot90(x, r, dims=IMAGE)


def lift_reference(x, w, stride=1):
    """The p4 lifting layer (N, Cin, H, W) -> (N, Cout, 4, H', W'), padding k // 2, by turning the input."""
    padded = F.pad(x, [w.shape[-1] // 2] * 4)
    return torch.stack([turn(F.conv2d(turn(padded, -r), w), r)[..., ::stride, ::stride] for r in range(4)], dim=2)


def group_conv_reference(f, w):
    """The p4 group convolution (N, Cin, 4, H, W) -> (N, Cout, 4, H, W), padding k // 2, stride 1.

    out[:, o, r] = Σ_i,h f[:, i, h] ⋆ rot(w[o, i, h - r], r) = rot(Σ_i,h (r⁻¹·f)[:, i, h] ⋆ w[o, i, h], r),
    where r⁻¹·f turns every map by -r and rolls the group axis back by r.
    """
    padded = F.pad(f, [w.shape[-1] // 2] * 4)
    flat_weight = w.flatten(1, 2)
    return torch.stack([turn(F.conv2d(turn(torch.roll(padded, -r, dims=2), -r).flatten(1, 2), flat_weight), r)
                        for r in range(4)], dim=2)


def feature_map_reference(f, r):
    """(u·f)[:, :, g] = turn(f[:, :, g - r], r): the docstring's definition, element by element."""
    return torch.stack([turn(f[:, :, (g - r) % 4], r) for g in range(4)], dim=2)


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
        torch.testing.assert_close(ex07.rotate_filters(w, r), turn(w, r), **EXACT)


@pytest.mark.points(2)
@pytest.mark.parametrize("g", range(8))
def test_flip_then_rotate_matches_design_convention(g):
    m, r = divmod(g, 4)
    for w in (NAMED_FILTER, randn(3, 2, 3, 3, seed=g)):
        expected = turn(torch.flip(w, dims=(-1,)) if m else w, r)  # DESIGN.md: flip m times, then turn r times
        torch.testing.assert_close(ex07.flip_then_rotate(w, g), expected, **EXACT)


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(1, 1, 3, 3), (3, 2, 3, 3), (2, 4, 5, 5), (4, 1, 1, 1)])
def test_p4_lift_filter_bank_makes_the_lifting_layer(shape):
    """F.conv2d with the bank, its channels read as (Cout, 4), is the lifting layer: row o*4 + r is w[o] turned by r."""
    w = randn(*shape, seed=sum(shape))
    bank = ex07.p4_lift_filter_bank(w)
    cout, cin, k, _ = shape
    assert isinstance(bank, torch.Tensor) and bank.shape == (cout * 4, cin, k, k) and bank.dtype == w.dtype, \
        f"expected a {w.dtype} tensor of shape {(cout * 4, cin, k, k)}, got {getattr(bank, 'shape', type(bank))}"
    for x in (randn(2, cin, 7, 7, seed=1), randn(1, cin, 6, 9, seed=2)):
        lifted = F.conv2d(x, bank, padding=k // 2).unflatten(1, (cout, 4))
        torch.testing.assert_close(lifted, lift_reference(x, w))


@pytest.mark.points(3)
@pytest.mark.parametrize("shape", [(1, 1, 4, 3, 3), (2, 3, 4, 3, 3), (3, 2, 4, 5, 5)])
def test_p4_conv_filter_bank_makes_the_group_convolution(shape):
    """F.conv2d of the folded group feature map with the bank is the group convolution."""
    w = randn(*shape, seed=sum(shape))
    bank = ex07.p4_conv_filter_bank(w)
    cout, cin, _, k, _ = shape
    assert isinstance(bank, torch.Tensor) and bank.shape == (cout * 4, cin * 4, k, k) and bank.dtype == w.dtype, \
        f"expected a {w.dtype} tensor of shape {(cout * 4, cin * 4, k, k)}, got {getattr(bank, 'shape', type(bank))}"
    for f in (randn(2, cin, 4, 7, 7, seed=3), randn(1, cin, 4, 5, 8, seed=4)):
        convolved = F.conv2d(f.flatten(1, 2), bank, padding=k // 2).unflatten(1, (cout, 4))
        torch.testing.assert_close(convolved, group_conv_reference(f, w))


@pytest.mark.points(3)
@pytest.mark.parametrize("r", range(4))
def test_rotate_feature_map_matches_group_action(r):
    f = randn(2, 3, 4, 6, 6, seed=r, dtype=torch.float32)
    torch.testing.assert_close(ex07.rotate_feature_map(f, r), feature_map_reference(f, r), **EXACT)
    x, w = randn(2, 2, 7, 7, seed=10 + r), randn(3, 2, 3, 3, seed=20 + r)  # the law it exists for
    torch.testing.assert_close(ex07.rotate_feature_map(lift_reference(x, w), r), lift_reference(turn(x, r), w))


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(2, 3, 4, 5, 5), (1, 2, 8, 4, 4), (3, 1, 4, 1, 1)])
def test_group_pool_is_max_over_group_axis(shape):
    f = randn(*shape, seed=len(shape) + shape[0], dtype=torch.float32)
    torch.testing.assert_close(ex07.group_pool(f), f.max(dim=2).values, **EXACT)


def reference_equivariance_error(weight, x, stride):
    lift = lambda images: lift_reference(images, weight, stride)  # noqa: E731
    return max((lift(turn(x, r)) - feature_map_reference(lift(x), r)).abs().max().item() for r in (1, 2, 3))


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
