"""The constructed network really has the families and circuits its answer key claims."""
import math

import pytest
import torch

from course.analysis.families import rotate_image
from course.models.constructed_families import (ConstructedFamilies, chiral_hook, oriented_edge, planted_truth,
                                                ring_pattern)


@pytest.fixture(scope="module")
def model():
    return ConstructedFamilies()


def test_edge_units_are_turned_copies_of_one_edge():
    # 90° turns are exact on the pixel grid; other angles differ by sampling only.
    for angle in (0.0, 45.0, 90.0, 135.0):
        torch.testing.assert_close(torch.rot90(oriented_edge(angle), 1, dims=(0, 1)), oriented_edge(angle + 90),
                                   atol=1e-6, rtol=0)


def test_an_edge_unit_fires_for_brightness_rising_along_its_angle(model):
    rows, cols = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    for unit, angle in zip(planted_truth()["rotation_family"]["units"], planted_truth()["rotation_family"]["angles"]):
        t = math.radians(angle)
        ramp = ((cols - 16) * math.cos(t) + (16 - rows) * math.sin(t) > 0).float()  # bright on the θ side
        out = model.relu1(model.conv1(ramp.expand(1, 3, 32, 32)))[0, :8, 16, 16]
        assert out.argmax().item() == unit


def test_hue_units_are_channel_cycles_and_the_mirror_pair_is_a_mirror(model):
    w = model.conv1.weight.detach()
    hue = planted_truth()["hue_family"]["units"]
    for shift, unit in enumerate(hue):
        torch.testing.assert_close(w[unit], torch.roll(w[hue[0]], shift, dims=0), atol=0, rtol=0)
    a, b = planted_truth()["mirror_pair"]["units"]
    torch.testing.assert_close(w[b], torch.flip(w[a], dims=(-1,)), atol=0, rtol=0)
    # and no turn maps the "Z" onto its mirror "S" (so it is a reflection, not a rotation family)
    turned = rotate_image(chiral_hook()[None].expand(360, 5, 5), torch.arange(360.0))
    mirror = torch.flip(chiral_hook(), dims=(-1,))
    cosine = (turned.flatten(1) @ mirror.flatten()) / (turned.flatten(1).norm(dim=1) * mirror.norm())
    assert cosine.max() < 0.8


def test_curve_units_wire_by_relative_angle_only(model):
    truth = planted_truth()["equivariant_to_equivariant"]
    w = model.conv2.weight.detach()[truth["units"]][:, truth["from"], 1, 1]  # (8 targets, 8 sources)
    for j in range(8):
        torch.testing.assert_close(w[j], torch.roll(w[0], j), atol=0, rtol=0)
    torch.testing.assert_close(w[0], torch.tensor(truth["relative_profile"]), atol=0, rtol=0)


def test_ring_pattern_leans_toward_its_angle():
    assert ring_pattern(0, 0, 1)[1, 2] == 1 and ring_pattern(90, 0, 1)[0, 1] == 1
    assert ring_pattern(135, 0, 1)[0, 0] == 1 and ring_pattern(270, 0, 1)[2, 1] == 1


def test_invariant_unit_turns_with_the_image_and_stays_one_unit(model):
    # A quarter turn permutes the 8 edge members exactly (two 45° steps) and the unit's 3×3
    # patterns turn with them, so its map just turns: float32 rounding only.
    from course.data.natural_images import natural_images

    images = natural_images(16, seed=5)
    unit = planted_truth()["equivariant_to_invariant"]["unit"]
    turned = model(torch.rot90(images, 1, dims=(-2, -1)))[:, unit]
    torch.testing.assert_close(turned, torch.rot90(model(images)[:, unit], 1, dims=(-2, -1)), atol=1e-5, rtol=1e-5)
