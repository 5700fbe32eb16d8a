"""Weight pictures: planted channel groups come out as the stated colours."""
import pytest
import torch

from course.analysis.weight_pictures import weights_to_rgb


def planted_weights():
    """4 units over 9 input channels in three groups (0-2 strong, 3-5 medium, 6-8 weak).

    Unit 0 uses the strong group on its left column and is inhibited by it on the right;
    unit 1 uses the medium group everywhere; unit 2 the weak group at its centre only;
    unit 3 is all zero.
    """
    groups = torch.zeros(3, 9)
    for g, strength in enumerate((3.0, 2.0, 1.0)):
        groups[g, 3 * g:3 * g + 3] = strength * torch.tensor([1.0, 0.6, 0.3])
    spatial = torch.zeros(4, 3, 3, 3)  # (unit, factor, y, x)
    spatial[0, 0, :, 0], spatial[0, 0, :, 2] = 1.0, -1.0
    spatial[1, 1] = 0.8
    spatial[2, 2, 1, 1] = 1.0
    return torch.einsum("ofyx,fc->ocyx", spatial, groups), groups


def test_colours_follow_the_stated_rule():
    weights, _ = planted_weights()
    rgb, factors = weights_to_rgb(weights)
    assert rgb.shape == (4, 3, 3, 3) and factors.shape == (3, 9)
    assert rgb.min() >= 0 and rgb.max() <= 1
    # strongest group -> red: unit 0's left column is (1, .5, .5), its right column cyan (0, .5, .5)
    torch.testing.assert_close(rgb[0, :, 0], torch.tensor([1.0, 0.5, 0.5]).expand(3, 3), atol=1e-3, rtol=0)
    torch.testing.assert_close(rgb[0, :, 2], torch.tensor([0.0, 0.5, 0.5]).expand(3, 3), atol=1e-3, rtol=0)
    torch.testing.assert_close(rgb[0, :, 1], torch.full((3, 3), 0.5), atol=1e-3, rtol=0)
    # medium group -> green everywhere; weak group -> blue at the centre only
    torch.testing.assert_close(rgb[1], torch.tensor([0.5, 1.0, 0.5]).expand(3, 3, 3), atol=1e-3, rtol=0)
    torch.testing.assert_close(rgb[2, 1, 1], torch.tensor([0.5, 0.5, 1.0]), atol=1e-3, rtol=0)
    torch.testing.assert_close(rgb[2, 0], torch.full((3, 3), 0.5), atol=1e-3, rtol=0)
    # a zero unit is grey
    torch.testing.assert_close(rgb[3], torch.full((3, 3, 3), 0.5), atol=1e-6, rtol=0)


def test_factors_are_the_planted_channel_groups():
    weights, groups = planted_weights()
    _, factors = weights_to_rgb(weights)
    cosines = (factors * (groups / groups.norm(dim=1, keepdim=True))).sum(dim=1)
    assert cosines.min() >= 0.99


def test_reusing_factors_gives_the_same_colours_for_a_scaled_copy():
    weights, _ = planted_weights()
    rgb, factors = weights_to_rgb(weights)
    rgb_again, same = weights_to_rgb(2.5 * weights, factors=factors)
    torch.testing.assert_close(rgb_again, rgb, atol=1e-5, rtol=0)  # per-unit scaling removes the 2.5
    assert same is factors


def test_shared_scale_keeps_relative_strength():
    weights, _ = planted_weights()
    rgb, _ = weights_to_rgb(weights, scale="shared")
    # unit 1 (0.8 x medium) is weaker than unit 0's peak: its green stays below 1
    assert 0.5 < rgb[1, 0, 0, 1] < 0.95


def test_fewer_than_three_input_channels_pad_with_grey():
    weights = torch.randn(5, 1, 5, 5, generator=torch.Generator().manual_seed(0))
    rgb, factors = weights_to_rgb(weights)
    assert factors.shape == (3, 1) and (factors[1:] == 0).all()
    torch.testing.assert_close(rgb[..., 1:], torch.full((5, 5, 5, 2), 0.5))


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="C_out, C_in"):
        weights_to_rgb(torch.zeros(3, 3, 3))
    with pytest.raises(ValueError, match="factors"):
        weights_to_rgb(torch.zeros(2, 4, 3, 3), factors=torch.ones(3, 5))
