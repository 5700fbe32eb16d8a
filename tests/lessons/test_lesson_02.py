"""Lesson 02 runs with --fast and demonstrates what it claims (checked numbers, not just "it ran")."""
import pytest

FIGURES = ("tied_gradients", "tied_vs_untied_step", "induced_update_residual", "hypernetwork_test_error",
           "hypernetwork_fits")


@pytest.fixture(scope="module")
def run(fast_run):
    return fast_run("02")


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


def test_claims_ledger_and_tool_checks(run):
    summary, _ = run
    statuses = {claim["id"]: claim["status"] for claim in summary["claims"]}
    assert statuses == {"gradient_through_h": "reproduced", "induced_update_of_w": "partial",
                        "shared_gradients_add": "reproduced", "hypernetwork": "partial"}
    kinds = {key: check["kind"] for key, check in summary["checks"].items()}
    assert kinds["chain_rule_error"] == kinds["tied_gradient_error"] == kinds["sharing_residual_max"] == "tool"
    assert kinds["hypernetwork_test_mse"] == kinds["fixed_over_hypernetwork_mse"] == "claim"


def test_the_lesson_draws_its_figures(run):
    summary, _ = run
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
