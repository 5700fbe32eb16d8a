"""Lesson 06 runs with --fast and demonstrates what it claims (checked numbers, not just "it ran")."""
import pytest

FIGURES = ("index_map", "tiles_and_memory", "verification")  # the benchmark chart only in the full run


@pytest.fixture(scope="module")
def run(fast_run):
    return fast_run("06")


def test_index_map_reproduces_conv2d(run):
    summary, _ = run
    assert summary["index_map_entry_error"] == 0 and summary["index_map_vs_unfold"] == 0
    assert summary["implicit_gemm_vs_conv2d"] < 1e-10


def test_im2col_blow_up_for_the_resnet_layer(run):
    summary, _ = run
    assert summary["im2col_blow_up"] == pytest.approx(9.0)  # 3x3 windows, stride 1, 'same' padding
    assert summary["im2col_megabytes"] == pytest.approx(32 * 56 * 56 * 64 * 9 * 4 / 2**20)
    assert summary["tile_kilobytes"] == pytest.approx((128 * 32 + 32 * 64 + 128 * 64) * 4 / 2**10)
    assert summary["blow_up_formula_vs_unfold"] == 0


def test_triton_backend_is_verified(run):
    summary, _ = run
    assert summary["triton_forward_float32_error"] <= 1e-5
    assert summary["triton_gradient_float64_error"] <= 1e-10
    assert summary["triton_gradcheck"] == 1


def test_poison_exposes_the_missing_tile(run):
    summary, _ = run
    assert summary["bug_error_without_poison"] <= 1e-5  # without poison the bug passes the comparison
    assert summary["bug_unwritten_with_poison"] == 16 * 3  # one 16-pixel tile of all 3 channels


def test_fast_run_does_not_time_and_says_so(run):
    summary, _ = run
    assert summary["benchmark_timed"] == 0 and "benchmark_rows" not in summary and "backends_timed" not in summary
    assert summary["gpu_numbers"].startswith("none measured") or "GPU present" in summary["gpu_numbers"]
    if "cpp_agrees_with_torch" in summary:  # checked whenever the extension is built, timing or not
        assert summary["cpp_agrees_with_torch"] <= 1e-5


def test_no_source_claims_and_every_check_is_a_tool_check(run):
    summary, _ = run
    assert summary["claims"] == []
    assert summary["checks"] and all(check["kind"] == "tool" for check in summary["checks"].values())


def test_the_lesson_draws_its_figures(run):
    summary, _ = run
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
