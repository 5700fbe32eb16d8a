"""course.chapters.high_low_frequency finds what was planted in the constructed network, and its small tools are right."""
import math

import pytest
import torch

from course.analysis.similarity import cosine_similarity
from course.chapters.high_low_frequency import (FactorAnalysis, HighLowTuning, analyse_factors, angle_error,
                                                boundary_probe, downstream_use, downstream_weights, frequency_index,
                                                high_low_candidates, high_low_stimuli, high_low_tuning, layer_tunings,
                                                mixed_window_share, orientation_coverage, polarity_index,
                                                reflect_across_boundary, side_texture_ratio, silent_units,
                                                summarise_tuning, weight_at)
from course.models.constructed_high_low import ConstructedHighLow

SIZE = 33  # odd, so the centre unit sits on the stimuli's boundary


@pytest.fixture(scope="module")
def model():
    return ConstructedHighLow()


@pytest.fixture(scope="module")
def stimuli():
    return high_low_stimuli([22.5 * k for k in range(16)], (1, 2, 4, 8), (0.0, math.pi), size=SIZE)


@pytest.fixture(scope="module")
def tunings(model, stimuli):
    return layer_tunings(model, "relu3", *stimuli)


@pytest.fixture(scope="module")
def family(tunings):
    return high_low_candidates(tunings)


def test_candidates_are_exactly_the_planted_family(model, family):
    assert [t.unit for t in family] == list(model.planted.family)


def test_preferred_orientations_match_the_planted_ones_and_cover_the_circle(model, family):
    for t, planted in zip(family, model.planted.orientations_deg):
        assert angle_error(t.preferred_deg, planted) <= 3.0, (t.unit, t.preferred_deg, planted)
    assert orientation_coverage([t.preferred_deg for t in family]) <= 50.0


def test_non_members_score_low(tunings, model):
    others = [t for t in tunings if t.unit in model.planted.others]
    assert others and all(t.score < 0.1 for t in others)


def test_one_unit_tuning_agrees_with_the_layer_recording(model, stimuli, tunings):
    single = high_low_tuning(model, "relu3:2", *stimuli)
    torch.testing.assert_close(single.responses, tunings[2].responses)  # same numbers, float32 defaults
    assert single.preferred_deg == pytest.approx(tunings[2].preferred_deg, abs=1e-4)


@pytest.fixture(scope="module")
def analysis(model, family):
    return analyse_factors(model, family, "relu2", "conv3", size=SIZE)


def test_nmf_recovers_the_planted_hf_and_lf_factors(model, analysis):
    assert analysis.factors.explained >= 0.99
    assert cosine_similarity(analysis.factors.channel[analysis.hf], model.planted.hf_factor) >= 0.95
    assert cosine_similarity(analysis.factors.channel[analysis.lf], model.planted.lf_factor) >= 0.95
    assert (analysis.factors.channel >= 0).all()


def test_factor_frequency_tuning_has_one_high_and_one_low_factor(analysis):
    assert analysis.frequency_index[analysis.hf] >= 0.5
    assert analysis.frequency_index[analysis.lf] <= -0.5


def test_spatial_factors_mirror_each_other_across_the_boundary(analysis):
    assert analysis.mirror.min() >= 0.95


def test_downstream_finds_the_polarity_blind_user_and_the_polarity_sensitive_one(model, family):
    weights = downstream_weights(model, "relu3", "head")
    assert weights.shape == (2, 10)
    uses = downstream_use(weights, list(range(8)), [t.preferred_deg for t in family], "head")
    assert uses[0].unit == model.planted.head_using_family == "head:0"
    assert uses[0].family_share == pytest.approx(1.0)
    assert uses[0].polarity_index == pytest.approx(0.0, abs=1e-6) and uses[0].same_sign == 1.0
    assert uses[1].polarity_index == pytest.approx(1.0, abs=0.02)  # measured angles ~1° off: interpolation


# ---- the small tools, on cases worked out by hand ------------------------------------------------------

def test_orientation_coverage_is_the_largest_circular_gap():
    assert orientation_coverage([0, 90, 180, 270]) == 90
    assert orientation_coverage([350, 10, 100]) == 250  # 100 -> 350
    assert orientation_coverage([]) == 360


def test_angle_error_wraps_around():
    assert angle_error(359.0, 1.0) == pytest.approx(2.0)
    assert angle_error(0.0, 180.0) == pytest.approx(180.0)


def test_weight_at_interpolates_around_the_circle():
    angles, weights = [0.0, 90.0, 270.0], torch.tensor([1.0, 3.0, -1.0])
    assert float(weight_at(angles, weights, 45.0)) == pytest.approx(2.0)
    assert float(weight_at(angles, weights, 315.0)) == pytest.approx(0.0)  # between 270 (-1) and 360 (1)
    assert float(weight_at(angles, weights, 90.0)) == pytest.approx(3.0)


def test_polarity_index_is_zero_for_equal_opposite_weights_and_one_for_one_sided_ones():
    angles = [0.0, 90.0, 180.0, 270.0]
    assert polarity_index(angles, torch.tensor([1.0, 2.0, 1.0, 2.0])) == pytest.approx(0.0)
    assert polarity_index(angles, torch.tensor([1.0, 0.0, 0.0, 0.0])) == pytest.approx(1.0)
    assert polarity_index([10.0], torch.tensor([1.0])) is None


def test_reflection_across_the_boundary_is_a_flip_or_a_transpose_at_multiples_of_45():
    maps = torch.arange(25.0).reshape(5, 5)
    torch.testing.assert_close(reflect_across_boundary(maps, 0.0), maps.flip(-1).double())  # exact grid points
    torch.testing.assert_close(reflect_across_boundary(maps, 90.0), maps.flip(-2).double())
    # 45° points up-right, so its boundary runs from top-left to bottom-right: the main diagonal
    torch.testing.assert_close(reflect_across_boundary(maps, 45.0), maps.T.double())


def test_frequency_index_signs():
    index = frequency_index((0.05, 0.1, 0.3), torch.tensor([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]))
    torch.testing.assert_close(index, torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64))


def test_tuning_summary_needs_ratio_one_first_and_scores_a_perfect_detector_near_one():
    orientations = torch.arange(0.0, 360.0, 45.0)
    with pytest.raises(ValueError, match="ratios must start with 1"):
        summarise_tuning("x:0", (orientations, torch.tensor([2.0, 4.0])), torch.ones(8, 2))
    responses = torch.zeros(8, 2)
    responses[2, 1] = 1.0  # only at 90°, only with a frequency step
    t = summarise_tuning("x:0", (orientations, torch.tensor([1.0, 4.0])), responses)
    assert isinstance(t, HighLowTuning) and t.score == pytest.approx(1.0) and t.preferred_deg == pytest.approx(90.0)


def test_factors_are_named_hf_and_lf_only_for_indices_of_opposite_signs(analysis):
    assert analysis.high_and_low and analysis.names() == ("HF factor", "LF factor")
    both_fine = FactorAnalysis(analysis.factors, analysis.frequencies, analysis.frequency_responses,
                               torch.tensor([0.85, 0.83], dtype=torch.float64), 0, 1, analysis.mirror)
    assert not both_fine.high_and_low
    assert all("HF" not in name and "LF" not in name for name in both_fine.names())
    assert "+0.85" in both_fine.names()[0] and "+0.83" in both_fine.names()[1]


def test_silent_units_are_those_zero_for_every_stimulus(tunings, model):
    silent = silent_units(tunings)
    assert all(float(t.responses.max()) == 0 for t in tunings if t.unit in silent)
    assert not set(silent) & set(model.planted.family)


def test_the_probe_tells_a_frequency_step_from_a_plain_edge_on_a_planted_unit(model, family):
    probe = boundary_probe(model, family[0].unit, family[0].preferred_deg, SIZE)
    assert probe.frequency_step > 0
    assert probe.step_over_uniform > 2  # a planted unit fires for the step, not for uniform texture
    assert probe.edge_over_step < 0.5  # its HF and LF channels see no texture in a plain edge


def test_side_texture_ratio_finds_the_fine_side_of_a_high_low_stimulus():
    images, _ = high_low_stimuli([0.0], (8,), (0.0,), size=31)
    assert side_texture_ratio(images, 0.0, radius=10).item() > 3  # fine side to the right
    assert side_texture_ratio(images, 180.0, radius=10).item() < 1 / 3


def test_mixed_window_share_counts_windows_that_hold_both_values():
    mask = torch.zeros(1, 4, 4)
    mask[:, :, 2:] = 1  # left half 0, right half 1
    # 2×2 windows at 3×3 positions; those at column 1 straddle the line: 3 of 9
    assert mixed_window_share(mask, 2) == pytest.approx(3 / 9)
