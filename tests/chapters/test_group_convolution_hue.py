"""course/chapters/group_convolution.py: channel cycling is a group of order 3; the hue lift is equivariant; hue rotations."""
import pytest
import torch

from course.analysis.hue_rotation import hue_rotation_matrix, rotate_hue
from course.chapters.group_convolution import (colour_contrast_filter, cycle_hue, hue_group_errors,
                                               hue_half_turn_vs_spatial_half_turn, hue_lift,
                                               hue_lift_equivariance_error)


def test_cycle_hue_moves_channel_c_to_c_plus_k():
    x = torch.arange(3.0).reshape(1, 3, 1, 1)
    assert cycle_hue(x, 1).flatten().tolist() == [2.0, 0.0, 1.0]


def test_cycle_hue_is_a_group_of_order_3():
    errors = hue_group_errors(torch.rand(2, 3, 5, 5))
    assert errors["order_3"] == errors["closure"] == errors["inverse"] == 0
    assert errors["one_step_moves"] > 0


def test_hue_lift_shape_and_equivariance():
    x, w = torch.rand(2, 3, 9, 9), torch.randn(4, 3, 3, 3)
    assert hue_lift(x, w, padding=1).shape == (2, 4, 3, 9, 9)
    assert hue_lift_equivariance_error(x, w) <= 1e-5  # float32
    assert hue_lift_equivariance_error(x.double(), w.double()) <= 1e-12


def test_hue_rotation_by_120_degrees_is_the_channel_cycle():
    x = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    torch.testing.assert_close(rotate_hue(x, 120.0), cycle_hue(x, 1), rtol=0, atol=1e-12)
    torch.testing.assert_close(hue_rotation_matrix(360.0), torch.eye(3, dtype=torch.float64), rtol=0, atol=1e-12)


@pytest.mark.parametrize("colour", [[1.0, -0.5, -0.5], [0.0, 1.0, -1.0], [0.3, 0.2, -0.5]])
def test_half_turn_of_hue_equals_half_turn_in_space_for_pure_contrasts(colour):
    assert hue_half_turn_vs_spatial_half_turn(colour_contrast_filter(colour)) <= 1e-12


def test_half_turn_relation_fails_with_a_brightness_part():
    assert hue_half_turn_vs_spatial_half_turn(colour_contrast_filter([1.0, 0.0, 0.0])) > 0.1
