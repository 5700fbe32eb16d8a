"""Lesson 06 runs with --fast and demonstrates what it claims (checked numbers, not just "it ran")."""
import importlib.util
import json
from pathlib import Path

import pytest

LESSON = Path(__file__).resolve().parents[2] / "lessons" / "06_conv_kernels.py"
FIGURES = ("index_map", "tiles_and_memory", "verification", "benchmark")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lesson06")
    spec = importlib.util.spec_from_file_location("lesson_06_conv_kernels", LESSON)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(["--fast", "--out", str(out)]), out


def test_every_check_holds(run):
    summary, _ = run
    failed = {key: check for key, check in summary["checks"].items() if not check["ok"]}
    assert summary["checks"] and not failed


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


def test_benchmark_is_reported_and_gpu_absence_said(run):
    summary, _ = run
    assert summary["backends_timed"] >= 1 and summary["benchmark_rows"]
    assert {row["backend"] for row in summary["benchmark_rows"]} >= {"torch"}
    assert summary["gpu_numbers"].startswith("none measured") or "GPU present" in summary["gpu_numbers"]
    if "cpp_agrees_with_torch" in summary:
        assert summary["cpp_agrees_with_torch"] <= 1e-5


def test_figures_and_summary_are_written(run):
    summary, out = run
    for name in FIGURES:
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert sorted(summary["figures"]) == sorted(f"{name}.png" for name in FIGURES)
    assert json.loads((out / "summary.json").read_text())["lesson"] == "06_conv_kernels"
