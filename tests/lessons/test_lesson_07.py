"""Lesson 07 runs with --fast and demonstrates what it claims (checked numbers, not just "it ran")."""
import pytest

FIGURES = ("filter_bank", "rotating_feature_maps", "rotation_accuracies", "accuracy_vs_angle", "logits_vs_angle")


@pytest.fixture(scope="module")
def run(fast_run):
    return fast_run("07")


def test_equivariance_errors_are_float32_rounding(run):
    summary, _ = run
    assert summary["translation_equivariance_error"] <= 1e-5
    for key in ("p4_lift", "p4_conv", "p4m_lift", "p4m_conv", "hue_lift"):
        assert summary[f"{key}_equivariance_error"] <= 1e-5, key
    assert summary["rotation_breaks_plain_conv"] > 0.1
    assert summary["p4_table_error"] == summary["p4m_table_error"] == 0
    assert summary["p4m_bank_copies"] == 8


def test_hue_is_an_order_3_group_and_the_half_turn_relation_has_limits(run):
    summary, _ = run
    assert summary["hue_cycle_order3_error"] == summary["hue_cycle_closure_error"] == 0
    assert summary["hue_120_is_channel_cycle"] <= 1e-12
    assert summary["hue_180_contrast_vs_spatial_180"] <= 1e-12
    assert summary["hue_180_with_brightness_part"] > 0.1


def test_gcnn_keeps_its_accuracy_under_quarter_turns_and_beats_the_cnn(run):
    summary, _ = run
    assert abs(summary["G-CNN_parameters"] - summary["CNN_parameters"]) / summary["CNN_parameters"] < 0.1
    assert abs(summary["G-CNN_accuracy_upright"] - summary["G-CNN_accuracy_quarter_turns"]) <= 0.01
    assert summary["G-CNN_accuracy_quarter_turns"] > summary["CNN_accuracy_quarter_turns"]
    assert summary["G-CNN_accuracy_upright"] >= 0.95
    assert summary["CNN_accuracy_upright"] >= 0.95  # a fair comparison: the CNN has learned upright shapes too


def test_between_quarter_turns_both_models_lose_accuracy_and_the_numbers_say_where(run):
    summary, _ = run
    assert summary["gcnn_accuracy_spread_at_90_multiples"] <= 0.002
    for model in ("CNN", "G-CNN"):
        curve = summary[f"{model}_accuracy_by_angle"]
        assert len(curve["angles"]) == len(curve["accuracy"]) and curve["angles"][0] == 0 and curve["angles"][-1] == 360
        assert summary[f"{model}_accuracy_worst_angle"] == min(curve["accuracy"]) < summary[f"{model}_accuracy_upright"]
    assert summary["G-CNN_prediction_changes_at_deg"] is None or 0 < summary["G-CNN_prediction_changes_at_deg"] < 360


def test_gcnn_logits_repeat_every_quarter_turn(run):
    summary, _ = run
    assert summary["gcnn_logits_relative_spread_at_90_multiples"] <= 1e-5
    assert summary["cnn_logits_spread_at_90_multiples"] > 1e-3
    assert summary["gcnn_logits_spread_any_angle"] > summary["gcnn_logits_spread_at_90_multiples"]
    assert summary["gcnn_logits_relative_spread_any_angle"] > 100 * summary["gcnn_logits_relative_spread_at_90_multiples"]


def test_checks_are_split_into_tool_and_claim_checks_and_all_hold(run):
    summary, _ = run
    kinds = {check["kind"] for check in summary["checks"].values()}
    assert kinds == {"tool", "claim"}
    assert all(check["ok"] for check in summary["checks"].values()), summary["checks"]
    assert summary["checks"]["p4_lift_equivariance_error"]["kind"] == "tool"
    assert summary["checks"]["gcnn_minus_cnn_rotated"]["kind"] == "claim"


def test_the_claims_ledger_matches_the_numbers(run):
    summary, _ = run
    claims = {claim["id"]: claim for claim in summary["claims"]}
    assert set(claims) == {"conv_translation_equivariant", "group_conv_ties_weights", "designed_equivariance_generalises",
                           "hue_half_turn_is_spatial_half_turn"}
    assert claims["designed_equivariance_generalises"]["status"] == "reproduced"
    assert claims["hue_half_turn_is_spatial_half_turn"]["status"] == "constructed only"
    for claim in claims.values():
        assert all(key in summary for key in claim["evidence"]), claim


def test_the_lesson_draws_its_figures(run):
    summary, _ = run
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)


def test_fused_backends_agree_with_the_reference_and_the_cpp_ratio_is_recorded(run):
    summary, _ = run
    assert summary["triton_fused_p4m_conv_error"] <= 1e-10
    if "cpp_fused_p4m_conv_error" in summary:  # --fast checks and times cpp only once its extension is built
        assert summary["cpp_fused_p4m_conv_error"] <= 1e-10
        assert summary["cpp_fused_train_speed_vs_reference"] > 0
