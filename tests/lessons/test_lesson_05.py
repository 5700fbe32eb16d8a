"""Lesson 05 runs with --fast (shipped checkpoints) and demonstrates what it claims, in checked numbers."""
import pytest

FIGURES = ("shapes_examples", "first_layer_filters", "feature_hierarchy", "receptive_fields", "simple_complex_cells",
           "cnn_vs_mlp")


@pytest.fixture(scope="module")
def run(fast_run):
    return fast_run("05")


def test_shipped_checkpoints_score_what_their_metadata_says(run):
    summary, _ = run
    for name in ("shapes_cnn", "shapes_mlp", "shapes_cnn_permuted", "shapes_mlp_permuted"):
        assert summary[f"{name}_vs_checkpoint_metric"] <= 0.001, name


def test_receptive_fields_match_formula_and_gradient(run):
    summary, _ = run
    assert summary["receptive_field_sizes"] == [3, 4, 8, 10, 18, 22]
    assert summary["receptive_field_mismatches"] == 0 and summary["top_unit_field_size"] == 22
    assert summary["trained_gradient_outside_field"] == 0
    assert all(row["exact"] for row in summary["receptive_field_table"])


def test_complex_cell_ignores_a_shift_that_silences_the_simple_cell(run):
    summary, _ = run
    assert summary["simple_preferred_angle"] == summary["complex_preferred_angle"] == 30
    assert summary["simple_shift_sensitivity"] >= 0.9
    assert summary["complex_shift_sensitivity"] <= 0.05


def test_four_way_comparison(run):
    summary, _ = run
    assert summary["cnn_test_accuracy"] >= 0.95
    assert summary["cnn_test_accuracy"] - summary["mlp_test_accuracy"] >= 0.3
    assert summary["cnn_advantage_lost_to_shuffling"] >= 0.6
    assert abs(summary["mlp_shuffled_test_accuracy"] - summary["mlp_test_accuracy"]) <= 0.03
    assert abs(summary["mlp_parameters"] - summary["cnn_parameters"]) <= 0.05 * summary["cnn_parameters"]


def test_claims_ledger_and_tool_checks(run):
    summary, _ = run
    statuses = {claim["id"]: claim["status"] for claim in summary["claims"]}
    assert statuses == {"hierarchy": "partial", "simple_cells": "constructed only", "complex_cells": "constructed only",
                        "arrays_need_local_structure": "reproduced"}
    kinds = {key: check["kind"] for key, check in summary["checks"].items()}
    for key in ("shapes_cnn_vs_checkpoint_metric", "receptive_field_mismatches", "trained_gradient_outside_field",
                "simple_shift_sensitivity", "complex_shift_sensitivity"):
        assert kinds[key] == "tool", key
    for key in ("cnn_test_accuracy", "cnn_advantage_in_place", "cnn_advantage_lost_to_shuffling", "mlp_shuffle_effect"):
        assert kinds[key] == "claim", key


def test_the_lesson_draws_its_figures(run):
    summary, _ = run
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
