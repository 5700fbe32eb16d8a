"""Lesson 01 runs with --fast and demonstrates what it claims (checked numbers, not just "it ran")."""
import pytest

FIGURES = ("data", "relu_quadrants", "training_runs", "folding_steps", "collapse_per_layer", "separable_output",
           "decision_regions", "dead_fractions")


@pytest.fixture(scope="module")
def run(fast_run):
    return fast_run("01")


def test_no_line_separates_the_input_but_one_does_after_the_last_relu(run):
    summary, _ = run
    assert summary["input_best_line_accuracy"] <= 0.9
    assert summary["last_hidden_best_line_accuracy"] >= 0.97
    assert summary["output_diagonal_accuracy"] >= 0.97


def test_relu_sends_each_quadrant_where_the_lesson_says(run):
    summary, _ = run
    for quadrant in ("I", "II", "III", "IV"):
        assert summary[f"relu_quadrant_{quadrant}"] == 1.0, quadrant
    assert 0.7 <= summary["relu_flattened_fraction"] <= 0.8  # three quarters of the square


def test_explicit_steps_reproduce_the_module(run):
    summary, _ = run
    assert summary["explicit_steps_vs_module"] <= 1e-6
    assert summary["shown_net_accuracy"] >= 0.97


def test_the_trained_narrow_net_squeezes_the_plane_onto_a_line(run):
    summary, _ = run
    assert summary["shown_net_plane_on_a_line_from"] in ("affine 2", "ReLU 2", "affine 3")
    assert summary["shown_net_output_flatness"] < 0.05
    assert summary["plane_flatness_per_step"]["affine 1"] > 0.05  # an affine map of the plane is still a plane


def test_wide_nets_train_reliably_and_narrow_ones_do_not(run):
    summary, _ = run
    assert summary["seeds_per_width"] == 4  # --fast
    assert summary["wide_success_rate"] >= 0.9
    assert summary["wide_success_rate"] - summary["narrow_success_rate"] >= 0.25
    accuracies = summary["final_accuracy"]
    assert len(accuracies["2"]) == len(accuracies["16"]) == 4


def test_narrow_nets_send_more_points_to_the_origin_but_the_count_does_not_predict_failure(run):
    summary, _ = run
    assert summary["narrow_dead_at_init"] - summary["wide_dead_at_init"] >= 0.3
    assert summary["narrow_dead_after"] - summary["wide_dead_after"] >= 0.3
    assert summary["failed_runs_error_forced_by_merging"] >= 0.5
    assert abs(summary["dead_fraction_failed_minus_succeeded"]) < 0.2  # what the lesson says: no separation


def test_tool_checks_are_counted_apart_and_the_claims_cite_existing_numbers(run):
    summary, _ = run
    kinds = {key: check["kind"] for key, check in summary["checks"].items()}
    assert kinds["explicit_steps_vs_module"] == kinds["relu_quadrant_III"] == "tool"
    assert kinds["wide_minus_narrow_success"] == kinds["failed_runs_error_forced_by_merging"] == "claim"
    statuses = {claim["id"]: claim["status"] for claim in summary["claims"]}
    assert statuses["narrow_nets_train_badly"] == "reproduced"
    assert statuses["zeroed_points_explain_failure"] == "partial"
    assert statuses["deeper_trains_easier"] == "not reproduced"  # 2 neurons wide: more layers, more points zeroed
    for claim in summary["claims"]:
        assert claim["source"].startswith("NYU lecture") and all(key in summary for key in claim["evidence"])


def test_the_lesson_draws_its_figures_each_in_its_section(run):
    summary, _ = run
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
    where = {figure["file"]: section["title"] for section in summary["sections"] for figure in section["figures"]}
    assert where["folding_steps.png"] == "The plane, step by step through a trained narrow net"
    assert where["data.png"] == "Two classes that no straight line separates"
    captions = {figure["file"]: figure["caption"] for section in summary["sections"] for figure in section["figures"]}
    assert captions["relu_quadrants.png"] == "ReLU replaces every negative coordinate by zero."
