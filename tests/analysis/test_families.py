"""Family finding and circuit measurements recover what was planted in the constructed network."""
import math

import pytest
import torch

from course.analysis.families import (angle_difference, find_families, find_families_from_tuning, kernel_direction,
                                      relative_orientation_profile, rotate_image, rotated_stimulus_responses,
                                      rotation_consistency, rotation_test, transform_selectivity, tuning_offsets)
from course.data.natural_images import natural_images
from course.models.constructed_families import SPOT_UNIT, ConstructedFamilies, planted_truth

TRUTH = planted_truth()
ANGLE_TOLERANCE = 3.0  # degrees: bilinear turning of a 5×5 kernel, searched in 1° steps


@pytest.fixture(scope="module")
def model():
    return ConstructedFamilies()


@pytest.fixture(scope="module")
def conv1(model):
    return model.conv1.weight.detach()


def step_edge(size=33):
    """One vertical step edge through the centre pixel, bright on the right: (1, 3, size, size)."""
    cols = torch.arange(size, dtype=torch.float32) - size // 2
    return (cols > 0).float().expand(1, 3, size, size).clone()


def offsets_from_first(angles):
    return [(a - angles[0]) % 360 for a in angles]


def assert_angles_close(found, expected, tolerance=ANGLE_TOLERANCE):
    assert angle_difference(torch.tensor(found), torch.tensor(expected)).abs().max() <= tolerance, (found, expected)


def test_rotate_image_by_quarter_turns_is_rot90_about_the_centre():
    x = torch.randn(2, 3, 9, 9, generator=torch.Generator().manual_seed(0))
    for k in range(4):
        # bilinear weights at exact grid points: float32 rounding of the sampling grid only
        torch.testing.assert_close(rotate_image(x, 90.0 * k), torch.rot90(x, k, dims=(-2, -1)), atol=1e-5, rtol=0)


def test_rotate_image_takes_one_angle_per_image():
    x = torch.randn(3, 1, 7, 7, generator=torch.Generator().manual_seed(1))
    both = rotate_image(x, torch.tensor([0.0, 90.0, 180.0]))
    for i, k in enumerate(range(3)):
        torch.testing.assert_close(both[i], torch.rot90(x[i], k, dims=(-2, -1)), atol=1e-5, rtol=0)


def test_angle_difference_wraps_into_a_half_turn_either_way():
    torch.testing.assert_close(angle_difference([350.0, 10.0, 180.0], [10.0, 350.0, 0.0]),
                               torch.tensor([-20.0, 20.0, -180.0]))


def test_rotation_family_is_recovered_with_its_angles(conv1):
    families = find_families(conv1, "rotation", threshold=0.9)
    assert [f["units"] for f in families] == [TRUTH["rotation_family"]["units"]]
    assert_angles_close(families[0]["offsets"], offsets_from_first(TRUTH["rotation_family"]["angles"]))


def test_hue_family_is_recovered_as_thirds_of_a_turn_of_colour(conv1):
    families = find_families(conv1, "hue", threshold=0.9)
    assert [f["units"] for f in families] == [TRUTH["hue_family"]["units"]]
    assert_angles_close(families[0]["offsets"], [0.0, 120.0, 240.0])


def test_reflection_finds_the_mirror_pair_and_not_the_edges(conv1):
    # an edge's mirror image is also one of its rotations, so edges must not count as a mirror pair
    families = find_families(conv1, "reflection", threshold=0.9)
    assert [f["units"] for f in families] == [TRUTH["mirror_pair"]["units"]]


def test_reflection_gives_pairs_only(conv1):
    # four mirror images of one hook, turned: mirror-of-mirror is a rotation, so they form two pairs, never a four
    hook = conv1[TRUTH["mirror_pair"]["units"][0]]
    flipped = torch.flip(hook, dims=(-1,))
    weights = torch.stack([hook, flipped, torch.rot90(hook, 1, (-2, -1)), torch.rot90(flipped, 1, (-2, -1))])
    families = find_families(weights, "reflection", threshold=0.9, step=2.0)
    assert families and all(len(f["units"]) == 2 for f in families)


def test_a_chain_of_matching_pairs_is_not_a_family():
    # a ~ b and b ~ c after a shift, but a and c do not match: the old connected-groups rule made one family of three
    angles = torch.arange(0.0, 360.0, 10.0)
    bump = lambda centre: torch.exp(3 * torch.cos(torch.deg2rad(angles - centre)))  # noqa: E731
    curves = torch.stack([bump(0.0), bump(0.0) + 0.5 * bump(180.0), bump(0.0) + bump(180.0)])
    correlation = tuning_offsets(curves, angles)[1]
    assert correlation[0, 1] > 0.85 and correlation[1, 2] > 0.85 and correlation[0, 2] < 0.5
    families = find_families_from_tuning(curves, angles, threshold=0.85)
    assert [f["units"] for f in families] == [[0, 1]]


def test_shifts_must_add_up_within_a_family():
    # three copies of one bump: every pair matches perfectly, and the shifts 0 -> 1 -> 2 add up to 0 -> 2
    angles = torch.arange(0.0, 360.0, 10.0)
    curves = torch.stack([torch.exp(2 * torch.cos(torch.deg2rad(angles - shift))) for shift in (0.0, 70.0, 150.0)])
    families = find_families_from_tuning(curves, angles, threshold=0.95)
    assert [f["units"] for f in families] == [[0, 1, 2]]
    assert_angles_close(families[0]["offsets"], [0.0, 70.0, 150.0], tolerance=1e-4)


def test_rotation_selectivity_separates_edges_from_the_spot(conv1):
    selectivity = transform_selectivity(conv1, "rotation")
    assert selectivity[TRUTH["rotation_family"]["units"]].min() > 0.9  # an edge changes completely as it turns
    assert selectivity[SPOT_UNIT] < 0.05  # the centre-surround spot looks the same at every angle
    flat = torch.ones(1, 3, 5, 5)  # a patch of one colour: only the disc's rim loses a little to interpolation
    assert transform_selectivity(flat, "rotation")[0] < 0.01


def test_hue_selectivity_separates_colour_units_from_grey_ones(conv1):
    selectivity = transform_selectivity(conv1, "hue")
    assert selectivity[TRUTH["hue_family"]["units"]].min() > 0.5  # a colour edge changes as its colours turn
    assert selectivity[TRUTH["rotation_family"]["units"]].max() < 1e-5  # grey edges: the grey axis is fixed


def test_tuning_offsets_recover_a_shift_of_a_curve():
    angles = torch.arange(0.0, 360.0, 10.0)
    curves = torch.stack([torch.exp(2 * torch.cos(torch.deg2rad(angles - shift))) for shift in (30.0, 100.0, 250.0)])
    offset, correlation = tuning_offsets(curves, angles)
    assert_angles_close(offset[0].tolist(), [0.0, 70.0, 220.0], tolerance=1e-4)
    torch.testing.assert_close(correlation[0], torch.ones(3), atol=1e-5, rtol=0)


def test_families_from_responses_to_a_turning_edge(model):
    angles = torch.arange(0.0, 360.0, 5.0)
    units = [f"relu1:{u}" for u in range(16)]
    curves = rotated_stimulus_responses(model, units, step_edge(), angles)
    families = find_families_from_tuning(curves, angles, threshold=0.95)
    edges = [f for f in families if f["units"][0] == 0]
    assert edges and edges[0]["units"][:8] == TRUTH["rotation_family"]["units"]
    assert_angles_close(edges[0]["offsets"][:8], offsets_from_first(TRUTH["rotation_family"]["angles"]), 5.0)
    preferred = angles[curves[:8].argmax(dim=1)]  # the edge bright on the right is at 0°
    assert_angles_close(preferred.tolist(), TRUTH["rotation_family"]["angles"], 5.0)


def test_rotation_test_passes_for_the_right_offset_only(model):
    images = natural_images(300, seed=3)
    right = rotation_test(model, "relu1:0", "relu1:2", 90.0, images, k=48)
    wrong = rotation_test(model, "relu1:0", "relu1:2", 200.0, images, k=48)
    assert right["correlation"] > 0.99 and abs(right["response_ratio"] - 1) < 0.01  # 90°: an exact pixel permutation
    assert right["unrotated_correlation"] < 0.5 and wrong["correlation"] < 0.5
    curved = rotation_test(model, "relu2:1", "relu2:2", 45.0, images, k=48)  # 45°: interpolated, so approximate
    assert curved["correlation"] > 0.9


def test_equivariant_to_equivariant_weights_depend_on_relative_angle_only(model):
    truth = TRUTH["equivariant_to_equivariant"]
    values = model.conv2.weight.detach()[truth["units"]][:, truth["from"], 1, 1]
    centres, means, residual = relative_orientation_profile(values, truth["relative_angles"], truth["angles"])
    torch.testing.assert_close(means, torch.tensor(truth["relative_profile"]), atol=1e-6, rtol=0)
    assert residual < 1e-6
    shuffled = values.flatten()[torch.randperm(64, generator=torch.Generator().manual_seed(0))].reshape(8, 8)
    assert relative_orientation_profile(shuffled, truth["relative_angles"], truth["angles"])[2] > 0.5


def test_invariant_circuits_are_one_pattern_turned_to_each_angle(model):
    w = model.conv2.weight.detach()
    to_invariant = TRUTH["equivariant_to_invariant"]
    from_invariant = TRUTH["invariant_to_equivariant"]
    kernels_in = w[to_invariant["unit"], to_invariant["from"]]          # (8, 3, 3): family → invariant unit
    kernels_out = w[from_invariant["units"], from_invariant["from"]]    # (8, 3, 3): invariant unit → family
    for kernels, angles in ((kernels_in, to_invariant["from_angles"]), (kernels_out, from_invariant["angles"])):
        consistency = rotation_consistency(kernels, angles)
        assert consistency["spread_deg"] < 1e-3 and abs(angle_difference(consistency["offset_deg"], 0.0)) < 1e-3
    torch.testing.assert_close(kernels_in, kernels_out, atol=0, rtol=0)  # the same pattern, transposed
    random = torch.randn(8, 3, 3, generator=torch.Generator().manual_seed(0))
    assert rotation_consistency(random, to_invariant["from_angles"])["spread_deg"] > 45


def test_kernel_direction_points_where_the_weight_is():
    kernel = torch.zeros(3, 3)
    kernel[0, 2] = 1.0  # up and to the right
    assert abs(kernel_direction(kernel[None]).item() - 45.0) < 1e-4
    assert math.isclose(kernel_direction(-kernel[None]).item(), 225.0, abs_tol=1e-4)
