"""Lesson 10 runs with --fast (shipped checkpoints) and demonstrates what it claims, layer by layer, in checked numbers."""
import pytest

from course.models.banding_net import SEEDS, VARIANTS

FIGURES = ("scenes", "banding_scores", "weight_pictures")
LAYERS = ("conv3a", "conv3b")


@pytest.fixture(scope="module")
def run(fast_run):
    return fast_run("10")


def test_every_check_holds_and_the_score_checks_are_tool_checks(run):
    summary, _ = run
    assert summary["checks"] and all(check["ok"] for check in summary["checks"].values()), summary["checks"]
    assert all(summary["checks"][key]["kind"] == "tool" for key in
               ("synthetic_horizontal_error", "synthetic_vertical_error", "synthetic_random_banding"))


def test_the_score_is_exact_on_stripes_and_near_zero_on_noise(run):
    summary, _ = run
    assert summary["synthetic_horizontal_error"] <= 1e-9 and summary["synthetic_vertical_error"] <= 1e-9
    assert summary["synthetic_random_banding"] <= 0.03
    assert summary["synthetic_random_horizontal"] == pytest.approx(0.25, abs=0.03)
    for layer in LAYERS:  # the threshold 0.05 is at least 2.5 untrained spreads
        assert 0 < summary[f"{layer}_untrained_spread"] <= 0.05 / 2.5


def test_every_variant_learns_the_task(run):
    summary, _ = run
    for variant in VARIANTS:
        assert summary[f"{variant}_worst_accuracy"] >= 0.85, variant
        assert len(summary["accuracy"][variant]) == len(SEEDS)


def test_summary_and_closing_table_hold_every_variant_layer_and_seed_with_no_average_of_layers(run):
    summary, _ = run
    assert sorted(summary["banding_table"]) == sorted(LAYERS)
    for layer in LAYERS:
        table = summary["banding_table"][layer]
        assert sorted(table) == sorted(VARIANTS)
        for variant, scores in table.items():
            assert len(scores) == len(SEEDS) >= 3, variant
            assert all(set(score) == {"horizontal", "vertical", "banding"} for score in scores)
            assert f"{layer}_{variant}_mean_banding" in summary
    rows = summary["closing_table"]
    assert [(row["variant"], row["layer"]) for row in rows] == [(v, layer) for v in VARIANTS for layer in LAYERS]
    assert all(len(row["per_seed"]) == len(SEEDS) and row["sd"] >= 0 for row in rows)
    assert not any("last_group" in key for key in summary)


def test_per_layer_findings_of_the_shipped_seeds(run):
    # The shipped seeds give (banding per seed):
    #   conv3a: baseline +0.101 +0.074 +0.188, rotated -0.136 -0.170 -0.087, flatten -0.018 -0.044 -0.020,
    #           avg_x +0.011 -0.020 +0.012, shape_only -0.035 -0.035 -0.036
    #   conv3b: baseline +0.156 +0.061 +0.131, rotated -0.090 -0.069 -0.008, flatten +0.038 +0.067 +0.040,
    #           avg_x +0.178 +0.203 +0.208, shape_only +0.049 -0.009 +0.073
    summary, _ = run
    assert summary["conv3b_baseline_seeds_horizontal"] >= 2 and summary["conv3a_baseline_seeds_horizontal"] >= 2
    assert summary["conv3b_rotated_seeds_vertical"] >= 2 and summary["conv3a_rotated_seeds_vertical"] >= 2
    assert summary["conv3b_baseline_minus_flatten_mean"] >= 0.03 and summary["conv3a_flatten_seeds_unbanded"] >= 2
    assert summary["conv3a_shape_only_seeds_unbanded"] >= 2 and summary["conv3a_baseline_minus_shape_only"] >= 0.05
    # x-only pooling: the reverse of the article, the bands stay in the last layer
    assert summary["conv3b_avg_x_seeds_horizontal"] >= 2 and summary["conv3a_avg_x_seeds_horizontal"] <= 1
    assert summary["avg_x_last_minus_before_min"] >= 0.1


def test_the_claims_ledger_says_where_the_small_scale_result_differs(run):
    summary, _ = run
    claims = {claim["id"]: claim for claim in summary["claims"]}
    assert claims["avg_x_moves_bands_back"]["status"] == "not reproduced"
    assert claims["bands_visible_by_eye"]["status"] == "not reproduced"
    assert claims["flatten_removes_bands"]["status"] == "partial"
    assert claims["gap_last_layer_bands"]["status"] == "reproduced"
    assert all(key in summary for claim in claims.values() for key in claim["evidence"])


def test_the_lesson_draws_its_figures(run):
    summary, _ = run
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
