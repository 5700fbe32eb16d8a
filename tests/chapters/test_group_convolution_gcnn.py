"""course/chapters/group_convolution.py: the G-CNN is exactly invariant to quarter turns; rotations agree with rot90."""
import pytest
import torch

from course.chapters.group_convolution import (P4GCNN, PlainCNN, group_pool, logits_under_rotation, randomly_rotated,
                                               rotate_by_interpolation, rotate_images, upright_mask)
from course.models import parameter_count
from kernels.groups import P4


def test_models_have_about_the_same_number_of_parameters():
    gcnn, cnn = parameter_count(P4GCNN()), parameter_count(PlainCNN())
    assert abs(gcnn - cnn) / cnn < 0.1


@pytest.mark.parametrize("r", [1, 2, 3])
def test_gcnn_logits_invariant_to_quarter_turns(r):
    torch.manual_seed(0)
    model, x = P4GCNN().double(), torch.randn(3, 1, 32, 32, dtype=torch.float64)
    torch.testing.assert_close(model(torch.rot90(x, r, dims=(-2, -1))), model(x), rtol=0, atol=1e-10)  # float64 rounding


def test_gcnn_lifted_features_are_equivariant():
    torch.manual_seed(0)
    model, x = P4GCNN(), torch.randn(2, 1, 16, 16)
    for r in range(4):
        torch.testing.assert_close(model.features(P4.act_on_image(x, r)), P4.act_on_feature_map(model.features(x), r),
                                   rtol=0, atol=1e-5)  # float32


def test_plain_cnn_is_not_invariant():
    torch.manual_seed(0)
    model, x = PlainCNN(), torch.randn(2, 1, 32, 32)
    assert (model(torch.rot90(x, 1, dims=(-2, -1))) - model(x)).abs().max() > 1e-3


def test_group_pool_is_max_over_group_axis_and_invariant_to_its_permutation():
    f = torch.randn(2, 3, 4, 5, 5)
    torch.testing.assert_close(group_pool(f), f.max(dim=2).values, rtol=0, atol=0)
    torch.testing.assert_close(group_pool(torch.roll(f, 1, dims=2)), group_pool(f), rtol=0, atol=0)


@pytest.mark.parametrize("quarter", [1, 2, 3])
def test_interpolated_rotation_agrees_with_rot90_at_quarter_turns(quarter):
    x = torch.randn(2, 1, 12, 12)
    torch.testing.assert_close(rotate_by_interpolation(x, 90.0 * quarter), torch.rot90(x, quarter, dims=(-2, -1)),
                               rtol=0, atol=1e-5)  # grid coordinates carry float32 rounding
    torch.testing.assert_close(rotate_images(x, 90.0 * quarter), torch.rot90(x, quarter, dims=(-2, -1)), rtol=0, atol=0)


def test_randomly_rotated_is_seeded_and_keeps_shape():
    x = torch.randn(6, 1, 8, 8)
    for quarter_turns in (True, False):
        a, b = randomly_rotated(x, 3, quarter_turns), randomly_rotated(x, 3, quarter_turns)
        assert a.shape == x.shape and torch.equal(a, b)


def test_logits_under_rotation_shape():
    model = P4GCNN()
    assert logits_under_rotation(model, torch.randn(1, 16, 16), [0, 45, 90]).shape == (3, 5)


def test_upright_mask_keeps_angles_near_0_or_180_degrees():
    angles = torch.deg2rad(torch.tensor([0.0, 10.0, 30.0, 170.0, 190.0, 250.0, 359.0]))
    assert upright_mask(angles).tolist() == [True, True, False, True, True, False, True]
