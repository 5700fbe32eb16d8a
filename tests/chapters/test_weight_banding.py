"""course.chapters.weight_banding: seeds counted per layer, verdicts by majority, the closing table per layer."""
import pytest

from course.chapters.weight_banding import (ARTICLE, banding_summary_table, format_banding_table, seed_counts,
                                            untrained_spread, verdict)


def test_seed_counts_split_seeds_by_the_threshold_on_both_sides():
    assert seed_counts([0.06, 0.05, -0.2, 0.01], 0.05) == {"horizontal": 2, "vertical": 1, "none": 1}


@pytest.mark.parametrize("values, expected", [([0.1, 0.2, 0.06], "horizontal 3/3"), ([-0.1, -0.07, -0.01], "vertical 2/3"),
                                              ([0.04, 0.07, 0.04], "none 2/3"), ([0.1, -0.1, 0.0], "mixed")])
def test_verdict_names_what_most_seeds_show(values, expected):
    assert verdict(values, 0.05) == expected


def test_the_closing_table_has_one_row_per_variant_and_layer_and_no_layer_average():
    banding = {"conv3a": {"baseline": [0.1, 0.08, 0.2], "avg_x": [0.0, -0.02, 0.01]},
               "conv3b": {"baseline": [0.15, 0.06, 0.13], "avg_x": [0.18, 0.2, 0.21]}}
    rows = banding_summary_table(banding, {"baseline": [0.99, 0.98, 0.97], "avg_x": [0.95, 0.96, 0.97]}, 0.05)
    assert [(r["variant"], r["layer"]) for r in rows] == [("baseline", "conv3a"), ("baseline", "conv3b"),
                                                          ("avg_x", "conv3a"), ("avg_x", "conv3b")]
    avg_x_last = rows[3]
    assert avg_x_last["here"] == "horizontal 3/3" and avg_x_last["article"] == ARTICLE["avg_x"]["conv3b"] == "no bands"
    assert avg_x_last["mean"] == pytest.approx(0.59 / 3) and avg_x_last["worst_accuracy"] == 0.95
    text = format_banding_table(rows)
    assert len(text.splitlines()) == 1 + len(rows) and "+0.180 +0.200 +0.210" in text


def test_an_untrained_layer_scores_near_zero():
    assert 0 < untrained_spread("conv3b", inits=20) < 0.04
