"""`python -m kernels.bench --quick` runs and reports every timed backend (a smoke test, not a timing test)."""
import math

import pytest

from kernels import bench, cpp_backend


def test_forward_flops_counts_multiply_and_add():
    # 1 image, 2 -> 3 channels, 4x4 input, 3x3 kernel, padding 1: 3*16 outputs of 2*9 terms each.
    assert bench.forward_flops((1, 2, 4, 4, 3, 3, 1, 1, 1)) == 2 * 3 * 16 * 2 * 9


def test_quick_benchmark_runs_and_compares_with_torch(capsys):
    rows = bench.main(["--quick"])
    out = capsys.readouterr().out
    assert "skipped triton" in out or "triton" not in [r.backend for r in rows]
    backends = {r.backend for r in rows}
    assert "torch" in backends
    if cpp_backend.available()[0]:
        assert "cpp" in backends and "geometric mean" in out
    for row in rows:
        assert row.forward_ms > 0 and row.backward_ms > 0 and math.isfinite(row.forward_gflops)
        if row.backend == "torch":
            assert row.forward_ratio == pytest.approx(1.0) and row.backward_ratio == pytest.approx(1.0)
