"""Lesson 04 runs with --fast and demonstrates what it claims (checked numbers, not just "it ran")."""
import pytest

FIGURES = ("sliding_window", "convolution_vs_correlation", "conv_as_matrix", "edge_filters", "stride_padding_dilation",
           "never_read", "im2col")


@pytest.fixture(scope="module")
def run(fast_run):
    return fast_run("04")


def test_hand_written_convolutions_match_torch(run):
    summary, _ = run
    for key in ("cross_correlation_vs_torch", "convolution_vs_torch_flipped", "cross_correlate2d_vs_torch",
                "unfold2d_vs_torch", "im2col_conv_vs_torch"):
        assert summary[key] < 1e-10, key
    assert summary["convolution_minus_correlation"] > 0.5  # the two conventions really differ


def test_vertical_edge_kernel_prefers_vertical_sides(run):
    summary, _ = run
    assert summary["vertical_edge_side_ratio"] >= 10


def test_output_size_table_has_the_text_example(run):
    summary, _ = run
    rows = summary["output_size_table"]
    assert all(row["formula"] == row["measured"] for row in rows)
    by_setting = {(r["n"], r["k"], r["stride"], r["padding"], r["dilation"]): r["measured"] for r in rows}
    assert by_setting[(100, 5, 1, 0, 1)] == 96
    assert by_setting[(100, 5, 2, 0, 1)] == 48
    assert by_setting[(100, 5, 1, 2, 1)] == 100  # 'same' padding keeps the length
    assert summary["stride1_n100_k5"] == 96 and summary["stride2_n100_k5"] == 48
    assert summary["output_size_mismatches"] == 0


def test_convolution_is_a_toeplitz_or_circulant_matrix(run):
    summary, _ = run
    assert summary["toeplitz_shape"] == [56, 60]
    assert summary["toeplitz_nonzero_fraction"] == pytest.approx(5 / 60)
    assert summary["toeplitz_vs_cross_correlate1d"] < 1e-10 and summary["circulant_vs_circular_conv1d"] < 1e-10
    assert summary["lesson02_layer_is_circulant"] == 0 and summary["lesson02_layer_is_circular_conv"] < 1e-12


def test_lecture_formula_fails_when_the_stride_does_not_divide(run):
    summary, _ = run
    assert summary["lecture_n100_k5_s5"] == pytest.approx(19.2) and summary["measured_n100_k5_s5"] == 20
    assert summary["lecture_formula_inexact"] == summary["lecture_formula_floor_errors"] == 14  # 2 in 3 of n = 90..110
    assert summary["lecture_formula_ceil_errors"] == 0
    assert summary["conv2d_stride2_shape"] == [5, 5] and summary["conv2d_shape_vs_formula"] == 0
    assert summary["unread_rows"] == [] and summary["unread_cols"] == [11]
    assert summary["never_read_prediction_mismatches"] == 0 and summary["unread_cells_change_nothing"] == 0


def test_claims_ledger_and_tool_checks(run):
    summary, _ = run
    statuses = {claim["id"]: claim["status"] for claim in summary["claims"]}
    assert statuses == {"convolution_vs_cross_correlation": "reproduced", "conv2d_definition": "reproduced",
                        "stride_output_size": "partial", "same_padding": "reproduced"}
    kinds = {key: check["kind"] for key, check in summary["checks"].items()}
    assert kinds["cross_correlation_vs_torch"] == kinds["im2col_conv_vs_torch"] == kinds["vertical_edge_side_ratio"] == "tool"
    assert kinds["stride1_n100_k5"] == kinds["measured_n100_k5_s5"] == "claim"


def test_the_lesson_draws_its_figures(run):
    summary, _ = run
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
