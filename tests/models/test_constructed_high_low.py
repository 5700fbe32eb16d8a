"""The hand-built high-low network computes what its docstring plants (checked with known stimuli)."""
import pytest
import torch

from course.analysis.stimuli import gratings, high_low
from course.analysis.units import record_activations
from course.models.constructed_high_low import (BOUNDARY_ORIENTATIONS_DEG, COLOUR_CHANNELS, ConstructedHighLow,
                                                FAMILY_SIZE, HF_CHANNELS, LF_CHANNELS, head_weights)


@pytest.fixture(scope="module")
def model():
    return ConstructedHighLow()


def test_planted_factors_are_disjoint_non_negative_unit_vectors_in_the_bottleneck(model):
    hf, lf = model.planted.hf_factor, model.planted.lf_factor
    assert (hf >= 0).all() and (lf >= 0).all()
    torch.testing.assert_close(torch.stack([hf.norm(), lf.norm()]), torch.ones(2))  # default float32 tolerance
    assert float(hf @ lf) == 0
    w = model.bottleneck.weight[:, :, 0, 0]
    # rows 0 and 1 of the 1×1 bottleneck are the planted factors up to a positive gain
    torch.testing.assert_close(w[0] / w[0].norm(), hf)
    torch.testing.assert_close(w[1] / w[1].norm(), lf)
    assert set(HF_CHANNELS) | set(LF_CHANNELS) | set(COLOUR_CHANNELS) == set(range(8))


def test_hf_channels_prefer_fine_gratings_and_lf_channels_coarse_ones(model):
    images, params = gratings(size=33, orientations_deg=range(0, 180, 15), frequencies=(0.05, 0.35),
                              phases=(0.0, 1.6, 3.1, 4.7))
    centre = record_activations(model, images, ["relu2"])["relu2"][:, :, 16, 16]
    fine, coarse = centre[params["frequency"] > 0.3].mean(0), centre[params["frequency"] < 0.1].mean(0)
    for c in HF_CHANNELS:
        assert fine[c] > 5 * coarse[c], c
    for c in LF_CHANNELS:
        assert coarse[c] > 10 * fine[c], c


def test_family_members_fire_for_their_boundary_and_not_for_its_mirror_or_uniform_texture(model):
    images, params = high_low(size=33, orientations_deg=BOUNDARY_ORIENTATIONS_DEG, ratios=(1, 8))
    centre = record_activations(model, images, ["relu3"])["relu3"][:, :, 16, 16]
    for k, theta in enumerate(BOUNDARY_ORIENTATIONS_DEG):
        own = centre[(params["orientation"] == theta) & (params["ratio"] == 8), k].mean()
        mirrored = centre[(params["orientation"] == (theta + 180) % 360) & (params["ratio"] == 8), k].mean()
        uniform = centre[params["ratio"] == 1, k].max()
        assert own > 0.1 and mirrored == 0 and uniform == 0, (k, own, mirrored, uniform)


def test_head_zero_weighs_all_members_equally_and_head_one_only_the_upward_ones():
    w = head_weights()
    assert torch.equal(w[0, :FAMILY_SIZE], torch.ones(FAMILY_SIZE, dtype=w.dtype))
    up = [k for k, theta in enumerate(BOUNDARY_ORIENTATIONS_DEG) if 0 < theta < 180]
    assert (w[1, up] > 0).all() and (w[1, [k for k in range(FAMILY_SIZE) if k not in up]] == 0).all()


def test_the_network_is_the_same_every_time_and_frozen():
    a, b = ConstructedHighLow(), ConstructedHighLow()
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        assert torch.equal(p, q) and not p.requires_grad, name
