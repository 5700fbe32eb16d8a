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


def test_the_trained_first_layer_has_rotation_families_and_the_in_focus_model_none(run):
    summary, _ = run
    assert summary["trained_conv1_rotation_families_3plus"] >= 2
    assert summary["trained_conv1_largest_rotation_family"] >= 4
    assert summary["focus_net_conv1_rotation_families"] == 0


def test_turning_the_images_carries_one_family_member_onto_another(run):
    summary, _ = run
    assert summary["trained_rotation_test_mean"] >= 0.5
    assert summary["trained_rotation_test_mean"] - summary["trained_rotation_test_unturned_mean"] >= 0.2


def test_the_lesson_draws_its_figures(run):
    summary, _ = run
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
