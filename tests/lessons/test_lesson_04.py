"""Lesson 04 runs with --fast and demonstrates what it claims (checked numbers, not just "it ran")."""
import pytest

FIGURES = ("sliding_window", "convolution_vs_correlation", "edge_filters", "stride_padding_dilation", "im2col")


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


def test_the_lesson_draws_its_figures(run):
    summary, _ = run
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
