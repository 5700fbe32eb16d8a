"""Every Triton kernel compiles for a GPU, on this CPU machine: sm_80 (A100) and sm_90 (H100).

kernels.gpu_check compiles the kernels ahead of time (triton.compile to PTX, then to a cubin with the
ptxas in the triton wheel: no GPU and no CUDA toolkit) and reads registers, shared memory and spills
from ptxas's report. CI runs the covering subset (`--quick`: every kernel in every autotune
configuration, and every kernel x dtype, configuration x dtype, configuration x target and dtype x
target pair; about 30 compilations, ~1 min on 2 cores); CONV_CIRCUITS_AOT=full runs every
kernel x configuration x dtype x target (`python -m kernels.gpu_check --aot` prints that table).

What must hold: every compilation succeeds with a cubin for its target, and no configuration needs
more shared memory than its target has (so none of launch.GEMM_CONFIGS is dead weight on an A100 or an
H100). Spills are reported, not failed: the autotuner times each configuration on the GPU anyway.
The float32 path really switches between TF32 and IEEE products with torch.backends.cudnn.allow_tf32.
"""
import os

import pytest
import torch

from kernels import gpu_check
from kernels.triton import launch

FULL = os.environ.get("CONV_CIRCUITS_AOT") == "full"


@pytest.fixture(scope="module")
def compiled():
    return gpu_check.compile_ahead_of_time(quick=not FULL, jobs=2 if not FULL else None)


@pytest.mark.slow
def test_every_kernel_compiles_for_sm80_and_sm90_within_shared_memory(compiled, capsys):
    rows, errors = compiled
    with capsys.disabled():  # the table belongs in the CI log
        print("\n" + gpu_check.format_aot_table(rows) + "\n" + gpu_check.summarize_aot(rows))
    assert not errors, "\n".join(errors)
    kernel_names = {"conv2d forward", "conv2d input grad", "conv2d weight grad", "conv2d bias grad"} | {
        f"{op} {kind}" for op in gpu_check.GROUP_OPS for kind in ("forward", "input grad", "weight grad")}
    assert {r.kernel for r in rows} == kernel_names
    labels = {gpu_check.config_label(c) for c in launch.GEMM_CONFIGS}
    for family in ("conv2d forward", "input grad", "weight grad"):
        assert {r.config for r in rows if r.kernel.endswith(family)} == labels, family
    assert {r.dtype for r in rows} == set(gpu_check.PRECISIONS)
    assert {r.target for r in rows} == set(gpu_check.TARGETS)
    too_big = [r for r in rows if not r.fits]
    assert not too_big, f"configurations over the target's shared memory: {too_big}"
    assert all(0 < r.registers <= 255 for r in rows)


def test_quick_jobs_cover_every_pair():
    """The covering subset really covers: each kernel family meets every configuration, and the pairs
    (family, dtype), (configuration, dtype), (configuration, target), (dtype, target) all occur."""
    kernels = {name: gpu_check.AotKernel(function=None, constexprs={}, configs=tuple(launch.GEMM_CONFIGS))
               for name in ["conv2d forward"]}
    jobs = [j for j in gpu_check.quick_jobs(kernels) if j.kernel != "conv2d bias grad"]

    def family(job):
        return job.kernel.split(" ", 1)[1] + (" conv2d" if job.kernel.startswith("conv2d") else " group")

    configs, dtypes, targets = range(len(launch.GEMM_CONFIGS)), gpu_check.PRECISIONS, gpu_check.TARGETS
    families = {family(j) for j in jobs}
    assert len(families) == 6
    assert {(family(j), j.config) for j in jobs} == {(f, c) for f in families for c in configs}
    assert {(family(j), j.dtype) for j in jobs} == {(f, d) for f in families for d in dtypes}
    assert {(j.config, j.dtype) for j in jobs} == {(c, d) for c in configs for d in dtypes}
    assert {(j.config, j.target) for j in jobs} == {(c, t) for c in configs for t in targets}
    assert {(j.dtype, j.target) for j in jobs} == {(d, t) for d in dtypes for t in targets}
    assert {j.kernel.split(" ")[0] for j in jobs} == {"conv2d", *gpu_check.GROUP_OPS}


def test_float32_dot_follows_cudnn_allow_tf32():
    previous = torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cudnn.allow_tf32 = True
        assert launch.precision_constexprs(torch.float32)["DOT_PRECISION"] == "tf32"
        torch.backends.cudnn.allow_tf32 = False
        assert launch.precision_constexprs(torch.float32)["DOT_PRECISION"] == "ieee"
    finally:
        torch.backends.cudnn.allow_tf32 = previous
    for dtype in (torch.float16, torch.bfloat16, torch.float64):  # TF32 is a float32 matter only
        assert launch.precision_constexprs(dtype)["DOT_PRECISION"] == "ieee"


@pytest.mark.slow
def test_tf32_and_ieee_compile_to_different_products(compiled):
    """The constexpr reaches the hardware: "float32 tf32" multiplies tf32 operands, "float32 ieee" and
    the other dtypes do not (the bias kernel has no product)."""
    rows, _ = compiled
    products = [r for r in rows if r.kernel != "conv2d bias grad"]
    assert {r.dtype for r in products if r.tf32} == {"float32 tf32"}
    assert all(r.tf32 for r in products if r.dtype == "float32 tf32")
