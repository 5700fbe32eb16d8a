"""Lesson 01 runs with --fast and demonstrates what it claims (checked numbers, not just "it ran")."""
import importlib.util
import json
from pathlib import Path

import pytest

LESSON = Path(__file__).resolve().parents[2] / "lessons" / "01_folding_space.py"
FIGURES = ("data", "relu_quadrants", "training_runs", "folding_steps", "collapse_per_layer", "separable_output",
           "decision_regions", "dead_fractions")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lesson01")
    spec = importlib.util.spec_from_file_location("lesson_01_folding_space", LESSON)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(["--fast", "--out", str(out)]), out


def test_every_check_holds(run):
    summary, _ = run
    failed = {key: check for key, check in summary["checks"].items() if not check["ok"]}
    assert len(summary["checks"]) >= 16 and not failed


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


def test_wide_nets_train_reliably_and_narrow_ones_do_not(run):
    summary, _ = run
    assert summary["seeds_per_width"] == 4  # --fast
    assert summary["wide_success_rate"] >= 0.9
    assert summary["wide_success_rate"] - summary["narrow_success_rate"] >= 0.25
    accuracies = summary["final_accuracy"]
    assert len(accuracies["2"]) == len(accuracies["16"]) == 4


def test_narrow_nets_send_more_points_to_the_origin(run):
    summary, _ = run
    assert summary["narrow_dead_at_init"] - summary["wide_dead_at_init"] >= 0.3
    assert summary["narrow_dead_after"] - summary["wide_dead_after"] >= 0.3
    assert summary["failed_runs_error_forced_by_merging"] >= 0.5


def test_figures_and_summary_are_written(run):
    summary, out = run
    for name in FIGURES:
        path = out / f"{name}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
    assert json.loads((out / "summary.json").read_text())["lesson"] == "01_folding_space"
