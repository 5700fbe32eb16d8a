"""`python -m kernels.bench --quick` runs and reports every timed backend: structure only, never a time.

What is checked: the FLOP count; the bimodality detector on made-up round times; the summary of
rounds (best <= q1 <= median <= q3); the alternation of rounds; and that the quick command line
prints best, median with its interquartile range, both ratios, GFLOP/s and the matmul ceiling, and
writes them to JSON.
"""
import json
import math

import pytest

from kernels import bench, cpp_backend


def test_forward_flops_counts_multiply_and_add():
    # 1 image, 2 -> 3 channels, 4x4 input, 3x3 kernel, padding 1: 3*16 outputs of 2*9 terms each.
    assert bench.forward_flops((1, 2, 4, 4, 3, 3, 1, 1, 1)) == 2 * 3 * 16 * 2 * 9
    # a p4 group conv does the FLOPs of the expanded conv2d: 2*4 -> 3*4 channels
    assert bench.group_forward_flops(("p4_conv", 1, 2, 3, 4, 4, 3, 1, 1)) == 2 * (3 * 4) * 16 * (2 * 4) * 9
    assert bench.group_forward_flops(("p4m_lift", 1, 2, 3, 4, 4, 3, 1, 1)) == 2 * (3 * 8) * 16 * 2 * 9


def test_bimodality_detector_on_synthetic_rounds():
    # the case: the same call at 1.3 ms in some rounds and 7-8 ms in others
    fast, slow = bench.bimodal_split([7.5e-3, 1.3e-3, 7.9e-3, 1.32e-3, 1.35e-3, 7.2e-3])
    assert fast == [1.3e-3, 1.32e-3, 1.35e-3] and slow == [7.2e-3, 7.5e-3, 7.9e-3]
    assert bench.summarize([7.5e-3, 1.3e-3, 7.9e-3, 1.32e-3]).modes.startswith("2 rounds at 1.3-1.32 ms, 2 at 7.5-7.9")
    # ordinary spread, one slow outlier (an interruption), or too few rounds: not bimodal
    assert bench.bimodal_split([1.0, 1.1, 1.3, 1.2, 1.5, 1.9]) is None
    assert bench.bimodal_split([1.0, 1.1, 1.05, 9.0]) is None
    assert bench.bimodal_split([1.0, 9.0, 9.1]) is None
    assert bench.summarize([1.0, 1.1, 1.05, 9.0]).modes == ""
    # the split is at the largest gap, and the threshold is a parameter
    assert bench.bimodal_split([1, 1, 3, 3, 30, 30]) == ([1, 1, 3, 3], [30, 30])
    assert bench.bimodal_split([1, 1, 1.6, 1.6], gap=1.5) == ([1, 1], [1.6, 1.6])


def test_summary_orders_best_quartiles_and_median():
    stats = bench.summarize([0.004, 0.001, 0.003, 0.002, 0.010])
    assert stats.best_ms == pytest.approx(1.0) and stats.median_ms == pytest.approx(3.0)
    assert stats.best_ms <= stats.q1_ms <= stats.median_ms <= stats.q3_ms
    one = bench.summarize([0.002])
    assert one.best_ms == one.median_ms == one.q1_ms == one.q3_ms == pytest.approx(2.0)


def test_rounds_alternate_and_rotate():
    order = []
    times = bench.alternate_rounds({name: (lambda name=name: order.append(name)) for name in "abc"},
                                   rounds=3, round_s=0, max_calls=1)
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3, "c": 3}
    assert order[6:] == list("abc" "bca" "cab")  # after two warm-up calls each
    with pytest.raises(ValueError, match="rounds"):
        bench.alternate_rounds({"a": lambda: None}, rounds=0)


def test_quick_benchmark_reports_best_median_spread_and_ceiling(capsys, tmp_path):
    path = tmp_path / "bench.json"
    rows = bench.main(["--quick", "--threads", "1", "--no-groups", "--json", str(path)])
    out = capsys.readouterr().out
    assert "skipped triton" in out or "triton" not in [r.backend for r in rows]
    for column in ("best", "median", "q1", "q3", "GFLOP/s", "of ceil", "x torch", "interquartile range"):
        assert column in out
    assert "ceiling: float32 512^3 matmul" in out and "GFLOP/s" in out.split("ceiling:")[1]
    backends = {r.backend for r in rows}
    assert "torch" in backends
    if cpp_backend.available()[0]:
        assert "cpp" in backends and "best against best" in out and "median against median" in out
    for row in rows:
        assert row.rounds == bench.QUICK_ROUNDS
        for direction in ("forward", "backward"):
            best, median = getattr(row, f"{direction}_ms"), getattr(row, f"{direction}_median_ms")
            q1, q3 = getattr(row, f"{direction}_q1_ms"), getattr(row, f"{direction}_q3_ms")
            assert 0 < best <= q1 <= median <= q3 and math.isfinite(getattr(row, f"{direction}_gflops"))
        if row.backend == "torch":
            for ratio in ("forward_ratio", "backward_ratio", "train_ratio", "forward_median_ratio", "train_median_ratio"):
                assert getattr(row, ratio) == pytest.approx(1.0)
    saved = json.loads(path.read_text())
    (ceiling,) = [entry for entry in saved if entry.get("kind") == "ceiling"]
    assert ceiling["size"] == bench.QUICK_CEILING_SIZE and ceiling["gflops"] > 0 and ceiling["threads"] == 1
    assert len([entry for entry in saved if "backend" in entry]) == len(rows)


def test_tables_mark_and_explain_bimodal_rounds():
    torch_row = bench.Row((32, 3, 32, 32, 32, 5, 1, 2, 1), "torch", 1.3, 115.0, 1.0, 9.0, 33.0, 1.0,
                          7.5, 1.3, 7.8, 1.0, "2 rounds at 1.3-1.32 ms, 2 at 7.5-7.9 ms", 9.5, 9.2, 9.9, 1.0, "",
                          1.0, 1.0, 4)
    cpp_row = bench.Row((32, 3, 32, 32, 32, 5, 1, 2, 1), "cpp", 3.6, 42.0, 1.3 / 3.6, 9.0, 33.0, 1.0,
                        3.7, 3.6, 3.8, 7.5 / 3.7, "", 9.5, 9.2, 9.9, 1.0, "", 10.3 / 12.6, 17.0 / 13.2, 4)
    ceiling = bench.Ceiling(2048, "float32", "cpu", 2, 133.0, 140.0, 129.2)
    text = bench.format_table([torch_row, cpp_row], ceiling)
    assert "7.500* [" in text and "bimodal: torch forward on (32, 3, 32, 32, 32, 5, 1, 2, 1): 2 rounds at 1.3" in text
    assert "89.0%" in text and "129.2 GFLOP/s" in text  # 115 of 129.2 GFLOP/s
    assert bench.speed_summary([torch_row, cpp_row])["cpp"]["forward"] == pytest.approx(1.3 / 3.6)
    group_row = bench.GroupRow("p4_conv", (2, 2, 2, 8, 8, 3, 1, 1), "cpp", 1, 2.0, 1.0, 2.0, 6.0, 3.0, 2.0,
                               reference_forward_median_ms=5.0, reference_forward_q1_ms=2.0,
                               reference_forward_q3_ms=7.0, reference_forward_modes="2 rounds at 2-2.1 ms, 2 at 7-7.2 ms",
                               rounds=4)
    text = bench.format_group_table([group_row], {1: ceiling})
    assert "bimodal: reference forward on p4_conv (2, 2, 2, 8, 8, 3, 1, 1), 1 thread(s)" in text and "x ref" in text
