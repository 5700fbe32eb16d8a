"""Lesson 08 runs with --fast and demonstrates what it claims (checked numbers, not just "it ran")."""
import pytest

FIGURES = ("constructed_families", "constructed_tuning", "constructed_rotation_test", "constructed_relative_profile",
           "constructed_circuit_kernels", "trained_conv1_weights", "trained_tuning", "trained_rotation_test",
           "trained_feature_vis", "relative_profiles")


@pytest.fixture(scope="module")
def run(fast_run):
    return fast_run("08")


def test_every_check_holds(run):
    summary, _ = run
    assert summary["checks"] and all(check["ok"] for check in summary["checks"].values()), summary["checks"]


def test_planted_families_are_recovered_exactly_with_their_angles(run):
    summary, _ = run
    assert summary["constructed_rotation_wrong_units"] == summary["constructed_hue_wrong_units"] == 0
    assert summary["constructed_rotation_angle_error_deg"] <= 3 and summary["constructed_hue_angle_error_deg"] <= 3
    assert summary["constructed_mirror_pairs_found"] == 1 and summary["constructed_families_found"] == 3
    assert summary["constructed_tuning_angle_error_deg"] <= 5 and summary["constructed_preferred_angle_error_deg"] <= 5


def test_rotation_test_on_the_constructed_network(run):
    summary, _ = run
    for name in ("edge_90", "edge_45", "curve_45"):
        assert summary[f"constructed_rotation_test_{name}"] >= 0.9
        assert summary[f"constructed_rotation_test_{name}_unturned"] < summary[f"constructed_rotation_test_{name}"]
    assert summary["constructed_rotation_test_edge_90"] >= 0.999  # a quarter turn only moves pixels


def test_constructed_circuits_are_exactly_equivariant(run):
    summary, _ = run
    assert summary["constructed_relative_profile_residual"] <= 1e-6
    assert summary["constructed_relative_profile_error"] <= 1e-6
    assert summary["constructed_equivariant_to_invariant_spread_deg"] <= 1e-3
    assert summary["constructed_invariant_to_equivariant_spread_deg"] <= 1e-3


def test_trained_model_beats_the_trivial_answer(run):
    summary, _ = run
    assert summary["oriented_net_gain_over_baseline"] >= 0.1
    assert summary["oriented_net_test_pixel_accuracy"] > summary["oriented_net_majority_baseline"]
    assert summary["oriented_net_edge_pixel_accuracy"] >= 0.3  # guessing a direction: 1/8


def test_trained_families_hold_together_and_leave_out_round_units(run):
    summary, _ = run
    selectivity = summary["trained_conv1_rotation_selectivity"]
    families = summary["trained_conv1_rotation_family_units"]
    assert summary["trained_conv1_largest_rotation_family"] >= 3
    assert max(len(units) for units in families) == summary["trained_conv1_largest_rotation_family"]
    for units in families:  # spots and flat patches (low rotation selectivity) join no rotation family
        assert all(selectivity[u] >= 0.5 for u in units), (units, selectivity)
    assert len({u for units in families for u in units}) == sum(len(units) for units in families)  # one family each
    assert all(len(units) == 2 for units in summary["trained_conv1_reflection_family_units"])  # mirror images: pairs
    assert summary["focus_net_conv1_rotation_families"] == 0


def test_responses_confirm_the_weight_family_angles_although_curves_alone_match_everything(run):
    summary, _ = run
    assert summary["trained_tuning_pair_match_rate"] >= 0.8  # why tuning curves alone cannot define families here
    assert summary["trained_family_tuning_angle_error_deg"] <= 30  # chance would be about 90° on average


def test_turning_the_images_carries_one_family_member_onto_another(run):
    summary, _ = run
    assert summary["trained_rotation_test_mean"] >= 0.5
    assert summary["trained_rotation_test_mean"] - summary["trained_rotation_test_unturned_mean"] >= 0.2


def test_three_seeds_are_compared_and_the_ledger_follows_them(run):
    summary, _ = run
    assert sorted(summary["seed_evidence"]) == ["0", "1", "2"]
    claims = {claim["id"]: claim for claim in summary["claims"]}
    tested = summary["seeds_with_a_tested_family"]
    assert claims["rotation_test"]["status"] == ("reproduced" if tested >= 2 else "partial" if tested else
                                                 "not reproduced")
    assert claims["rotated_copies_in_early_layers"]["status"] != "reproduced" or \
        summary["seeds_with_a_tested_family_over_half_a_turn"] >= 2
    assert claims["hue_families"]["status"] == ("not reproduced" if summary["trained_conv1_hue_families"] == 0
                                                else "reproduced")
    assert claims["invariant_equivariant_circuits"]["status"] == "constructed only"
    for claim in claims.values():
        assert all(key in summary for key in claim["evidence"]), claim


def test_constructed_checks_are_tool_checks(run):
    summary, _ = run
    for key, check in summary["checks"].items():
        assert check["kind"] == ("tool" if key.startswith("constructed_") else "claim"), key


def test_the_lesson_draws_its_figures(run):
    summary, _ = run
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
