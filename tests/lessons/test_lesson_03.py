"""Lesson 03 runs with --fast and demonstrates what it claims (checked numbers, not just "it ran")."""
import pytest

FIGURES = ("motif_sequences", "learned_motif", "window_gradients", "zero_grad", "letter_templates",
           "shift_invariance", "learned_templates")


@pytest.fixture(scope="module")
def run(fast_run):
    return fast_run("03")


def test_shared_detector_is_conv1d_then_max(run):
    summary, _ = run
    assert summary["windows_per_sequence"] == 48 - 7 + 1
    assert summary["detector_vs_conv1d_max"] < 1e-12


def test_trained_detector_learns_the_motif(run):
    summary, _ = run
    assert summary["learned_motif_cosine"] >= 0.9
    assert summary["motif_test_accuracy"] >= 0.85
    assert summary["motif_located"] >= 0.9
    assert 1 <= summary["starts_that_found_the_motif"] < 32  # some starts get stuck on part of the motif


def test_shared_gradient_is_the_sum_over_windows(run):
    summary, _ = run
    assert summary["tied_gradient_error"] < 1e-6
    assert summary["windows_with_gradient"] > 1  # the sum really has several terms


def test_forgotten_zero_grad_accumulates(run):
    summary, _ = run
    assert summary["stale_gradient_error"] < 1e-12
    assert summary["accumulated_gradient_error"] < 1e-12
    right, wrong = summary["step2_update_norms"]
    assert wrong != pytest.approx(right)
    assert summary["last_update_norm_ratio"] >= 2


def test_hand_built_templates_count_endpoints_and_corners_at_every_shift(run):
    summary, _ = run
    assert summary["C_endpoints_corners"] == [2, 0]
    assert summary["D_endpoints_corners"] == [0, 2]
    assert summary["letter_images"] == 758
    assert summary["hand_built_accuracy_all_shifts"] == 1.0
    assert summary["response_map_shift_error"] == 0


def test_conv_net_is_shift_invariant_and_dense_net_is_not(run):
    summary, _ = run
    assert summary["conv_net_accuracy_all_shifts"] >= 0.95
    assert summary["conv_net_logit_spread"] <= 1e-4
    assert summary["dense_net_accuracy_unseen_shifts"] <= 0.8
    assert summary["conv_net_accuracy_all_shifts"] > summary["dense_net_accuracy_all_shifts"]


def test_claims_ledger_and_tool_checks(run):
    summary, _ = run
    statuses = {claim["id"]: claim["status"] for claim in summary["claims"]}
    assert statuses == {"sliding_motif_detector": "reproduced", "window_gradients_add": "reproduced",
                        "zero_grad": "reproduced", "c_or_d_templates": "constructed only",
                        "shift_invariance": "reproduced", "learned_templates": "reproduced"}
    kinds = {key: check["kind"] for key, check in summary["checks"].items()}
    for key in ("detector_vs_conv1d_max", "tied_gradient_error", "hand_built_accuracy_all_shifts",
                "conv_net_logit_spread"):
        assert kinds[key] == "tool", key
    for key in ("learned_motif_cosine", "motif_test_accuracy", "conv_net_accuracy_all_shifts",
                "dense_net_accuracy_unseen_shifts"):
        assert kinds[key] == "claim", key


def test_the_lesson_draws_its_figures(run):
    summary, _ = run
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
