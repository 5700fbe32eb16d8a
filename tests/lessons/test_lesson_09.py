"""Lesson 09 runs with --fast and demonstrates what it claims (checked numbers, not just "it ran")."""
import pytest

CONSTRUCTED_FIGURES = ("stimuli", "constructed_tuning", "constructed_family", "constructed_factors",
                       "constructed_spatial_factors", "constructed_downstream")
FOCUS_FIGURES = ("focus_tuning", "focus_family", "focus_dataset_examples", "focus_feature_vis", "focus_factors",
                 "focus_spatial_factors", "focus_downstream")


@pytest.fixture(scope="module")
def run(fast_run):
    return fast_run("09")


def test_the_planted_family_is_found_at_the_planted_orientations(run):
    summary, _ = run
    assert summary["constructed_candidates"] == 8
    assert summary["constructed_candidates_are_planted"] == 1
    assert summary["constructed_orientation_error_deg"] <= 3.0
    assert summary["constructed_largest_gap_deg"] <= 50.0


def test_nmf_recovers_the_planted_hf_and_lf_factors_with_mirrored_spatial_maps(run):
    summary, _ = run
    assert summary["constructed_nmf_explained"] >= 0.99
    assert summary["constructed_hf_factor_cosine"] >= 0.95
    assert summary["constructed_lf_factor_cosine"] >= 0.95
    assert summary["constructed_hf_frequency_index"] >= 0.5
    assert summary["constructed_lf_frequency_index"] <= -0.5
    assert summary["constructed_mirror_similarity_min"] >= 0.95


def test_downstream_use_and_polarity_on_the_constructed_head(run):
    summary, _ = run
    assert summary["constructed_top_user_is_planted"] == 1
    assert summary["constructed_head0_family_share"] == pytest.approx(1.0)
    assert summary["constructed_head0_polarity_index"] <= 0.05
    assert summary["constructed_head1_polarity_index"] >= 0.9


def test_planted_checks_are_tool_checks_and_focus_net_checks_are_claim_checks(run):
    summary, _ = run
    kinds = {key: check["kind"] for key, check in summary["checks"].items()}
    assert all(kind == "tool" for key, kind in kinds.items() if key.startswith("constructed_"))
    assert all(kind == "claim" for key, kind in kinds.items() if key.startswith("focus_"))
    assert all(check["ok"] for check in summary["checks"].values()), summary["checks"]


def test_focus_net_is_reported_with_its_baseline_and_its_silent_units(run):
    summary, _ = run
    assert summary["focus_test_accuracy"] > summary["focus_majority_baseline"] > 0.5
    assert summary["focus_silent_units"] == len(summary["focus_silent_unit_names"]) == 13
    assert summary["focus_nonzero_score_units"] >= summary["focus_candidates"] >= 2


def test_the_trained_focus_net_has_a_few_high_low_units_that_the_head_weighs_heavily(run):
    summary, _ = run
    assert len(summary["focus_candidate_orientations"]) == summary["focus_candidates"]
    assert summary["focus_candidate_median_contrast"] >= 0.7
    assert summary["focus_largest_gap_deg"] > 90  # too few members to cover the circle (reported, not hidden)
    assert summary["focus_nmf_explained"] >= 0.85
    assert summary["focus_mirror_similarity_median"] >= 0.5
    assert summary["focus_head_weight_ratio"] >= 1.5
    assert "focus_head_polarity_index" not in summary  # no opposite pair of candidates: not measurable


def test_factors_are_called_hf_and_lf_only_when_their_indices_have_opposite_signs(run):
    summary, _ = run
    first, second = summary["focus_factor1_frequency_index"], summary["focus_factor2_frequency_index"]
    assert first >= second
    assert summary["focus_factors_high_and_low"] == int(first > 0 > second) == 0  # both prefer fine gratings


def test_probes_feature_vis_and_dataset_examples_are_measured(run):
    summary, _ = run
    assert summary["focus_step_over_uniform_min"] >= 2.0
    assert 0 <= summary["focus_edge_over_step_min"] <= summary["focus_edge_over_step_max"]
    assert summary["focus_feature_vis_side_ratio_min"] >= 1.5
    assert 0 < summary["focus_all_windows_at_focus_edge"] < 1
    assert 0 <= summary["focus_top_windows_at_focus_edge"] <= 1


def test_the_claims_ledger_marks_the_trained_family_not_reproduced_and_the_constructed_case(run):
    summary, _ = run
    claims = {claim["id"]: claim for claim in summary["claims"]}
    assert claims["hl_family_covers_circle"]["status"] == "not reproduced"
    assert claims["hl_hf_lf_factors"]["status"] == "not reproduced"
    assert claims["hl_polarity_ignored"]["status"] == "constructed only"
    assert not any(claim["status"] == "reproduced" for claim in claims.values())  # one trained seed only
    assert all(key in summary for claim in claims.values() for key in claim["evidence"])


def test_the_lesson_draws_its_figures(run):
    summary, _ = run
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in CONSTRUCTED_FIGURES + FOCUS_FIGURES)
