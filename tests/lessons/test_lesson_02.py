"""Lesson 02 runs with --fast and demonstrates what it claims (checked numbers, not just "it ran")."""
import importlib.util
import json
from pathlib import Path

import pytest

LESSON = Path(__file__).resolve().parents[2] / "lessons" / "02_parameter_transformations.py"
FIGURES = ("tied_gradients", "tied_vs_untied_step", "induced_update_residual", "hypernetwork_test_error",
           "hypernetwork_fits")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lesson02")
    spec = importlib.util.spec_from_file_location("lesson_02_parameter_transformations", LESSON)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(["--fast", "--out", str(out)]), out


def test_every_check_holds(run):
    summary, _ = run
    failed = {key: check for key, check in summary["checks"].items() if not check["ok"]}
    assert summary["checks"] and not failed


def test_autograd_through_h_is_the_jacobian_transpose_times_dc_dw(run):
    summary, _ = run
    assert summary["low_rank_jacobian_shape"] == [16, 8]
    assert summary["chain_rule_error"] < 1e-12


def test_tied_gradient_is_the_sum_of_the_copies(run):
    summary, _ = run
    assert summary["copies_per_parameter"] == [4, 4, 4, 4]
    assert summary["tied_gradient_error"] < 1e-6  # the bound; float64 gives ~1e-16
    assert summary["tied_jacobian_error"] < 1e-6
    assert summary["one_copy_instead_of_sum_error"] >= 1e-3  # one copy's gradient is not the answer


def test_step_on_u_moves_copies_together_and_a_plain_step_breaks_the_tie(run):
    summary, _ = run
    assert summary["induced_update_error"] < 1e-12
    assert summary["tied_step_spread"] < 1e-12
    assert summary["untied_step_spread"] >= 1e-3
    assert summary["cost_drop_tied_step"] > 0


def test_induced_update_is_exact_for_sharing_and_second_order_otherwise(run):
    summary, _ = run
    assert summary["sharing_residual_max"] < 1e-12
    assert 1.95 <= summary["low_rank_residual_slope"] <= 2.05


def test_hypernetwork_beats_a_fixed_g(run):
    summary, _ = run
    hyper = summary["hypernetwork_test_mse"]
    assert hyper <= 0.05 < summary["test_target_variance"] / 5
    assert summary["fixed_g_test_mse"] >= 5 * hyper
    assert summary["wide_fixed_g_test_mse"] >= 2 * hyper
    assert summary["blind_fixed_g_test_mse"] > summary["fixed_g_test_mse"]  # the context helps a fixed G too
    counts = summary["parameter_counts"]
    assert counts["hypernetwork"] == 3441 and counts["fixed G, sees context"] == 97
    assert abs(counts["wide fixed G, sees context"] - counts["hypernetwork"]) < 50


def test_figures_and_summary_are_written(run):
    summary, out = run
    for name in FIGURES:
        path = out / f"{name}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
    assert json.loads((out / "summary.json").read_text())["lesson"] == "02_parameter_transformations"
