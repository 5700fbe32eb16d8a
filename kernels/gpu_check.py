"""Check the kernels for a GPU: `python -m kernels.gpu_check [--aot] [--quick] [--jobs N]`.

On a machine with an NVIDIA GPU, in this order:
  1. the conformance suite, `pytest tests/kernels`: the cuda and triton backends run compiled there,
     with TF32 off so that float32 is held to float32 tolerances against the reference;
  2. the benchmark against cuDNN (`python -m kernels.bench --device cuda`, float32 with TF32 on, as
     cuDNN computes by default, then float16), conv2d and the group convolutions;
  3. the ahead-of-time table below.
Without a GPU it says so in one line and runs only 3; `--aot` runs only 3 anywhere.

Ahead of time. `triton.compile(ASTSource(kernel, signature, constexprs), target=GPUTarget("cuda", arch,
32))` turns a Triton kernel into PTX and then, with the ptxas that ships in the triton wheel, into a
cubin for that GPU: no GPU and no CUDA toolkit needed. Done for every Triton kernel here (conv2d and
the four group convolutions; forward, input gradient, weight gradient, and the bias gradient), every
autotune configuration (launch.GEMM_CONFIGS), every dtype the backend takes (float16, bfloat16,
float32 with TF32 and without, float64), for sm_80 (A100) and sm_90 (H100). Each row gives the
registers per thread, the shared memory per block and the bytes spilled to local memory that ptxas
reports, and whether the shared memory fits the target (TARGETS). `--quick` compiles a covering
subset instead (every kernel x configuration once; every kernel, configuration, dtype and target
meet each other in pairs): what tests/kernels/test_aot_compile.py runs in CI.

Compiling needs the real `triton.jit` functions, not the interpreter's stand-ins that `import kernels`
chooses on a CPU: so the compilation runs in a child process with TRITON_INTERPRET=0 (and its own
worker processes). Results are cached by the kernel's source hash, configuration and target
($XDG_CACHE_HOME/conv_circuits/aot, `--no-cache` to redo them).
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import torch

# target name: (compute capability, the most dynamic shared memory one block may use, in bytes)
TARGETS = {"sm_80": (80, 163 * 1024), "sm_90": (90, 227 * 1024)}
# dtype name: (torch dtype, Triton pointer type, tl.dot's input precision)
PRECISIONS = {
    "float16": (torch.float16, "fp16", "ieee"),
    "bfloat16": (torch.bfloat16, "bf16", "ieee"),
    "float32 tf32": (torch.float32, "fp32", "tf32"),
    "float32 ieee": (torch.float32, "fp32", "ieee"),
    "float64": (torch.float64, "fp64", "ieee"),
}
GROUP_OPS = {"p4_lift": (4, True), "p4_conv": (4, False), "p4m_lift": (8, True), "p4m_conv": (8, False)}
TESTS = Path(__file__).resolve().parents[1] / "tests" / "kernels"


@dataclass(frozen=True)
class Job:
    kernel: str     # a key of aot_kernels()
    config: int     # index into the kernel's configurations
    dtype: str      # a key of PRECISIONS
    target: str     # a key of TARGETS


@dataclass
class Row:
    kernel: str
    config: str
    dtype: str
    target: str
    registers: int
    shared_bytes: int
    spill_bytes: int   # spill stores + spill loads, per thread
    fits: bool         # shared memory within the target's limit
    tf32: bool         # the PTX multiplies tf32 operands (tensor cores in TF32 mode)
    seconds: float     # compile time (0 when it came from the cache)


# --- the kernels and their configurations (real triton.jit functions: TRITON_INTERPRET must be 0) ------


@dataclass(frozen=True)
class AotKernel:
    function: object      # the triton.jit function
    constexprs: dict      # fixed constexprs besides the dtype's and the block sizes
    configs: tuple        # triton.Config list: launch.GEMM_CONFIGS, or the one fixed launch


def aot_kernels() -> dict[str, AotKernel]:
    """Every Triton kernel the backends launch on a GPU, by name ("conv2d forward", "p4m_conv weight grad")."""
    import triton

    from kernels.triton import (
        forward,
        group_forward,
        group_input_grad,
        group_weight_grad,
        input_grad,
        launch,
        weight_grad,
    )

    if launch.INTERPRETING:
        raise RuntimeError("ahead-of-time compilation needs TRITON_INTERPRET=0 (run python -m kernels.gpu_check --aot)")
    gemm = tuple(launch.GEMM_CONFIGS)
    bias_launch = (triton.Config({"BLOCK_K": weight_grad.BIAS_BLOCK_K, "BLOCK_M": weight_grad.BIAS_BLOCK_M},
                                 num_warps=4, num_stages=3),)  # Triton's default warps and stages
    table = {
        "conv2d forward": AotKernel(forward.conv2d_forward_kernel, {"HAS_BIAS": True}, gemm),
        "conv2d input grad": AotKernel(input_grad.conv2d_input_grad_kernel, {}, gemm),
        "conv2d weight grad": AotKernel(weight_grad.conv2d_weight_grad_kernel, {}, gemm),
        "conv2d bias grad": AotKernel(weight_grad.conv2d_bias_grad_kernel, {}, bias_launch),
    }
    for op, (order, lifting) in GROUP_OPS.items():
        group = {"G": order, "G_IN": 1 if lifting else order}
        table[f"{op} forward"] = AotKernel(group_forward.group_conv_forward_kernel, {**group, "HAS_BIAS": True}, gemm)
        table[f"{op} input grad"] = AotKernel(group_input_grad.group_conv_input_grad_kernel, group, gemm)
        table[f"{op} weight grad"] = AotKernel(group_weight_grad.group_conv_weight_grad_kernel, group, gemm)
    return table


def _dtypes_of(kernel: AotKernel) -> list[str]:
    """PRECISIONS that make different code for this kernel (no tl.dot: no TF32 variant)."""
    uses_dot = any(p.name == "DOT_PRECISION" for p in kernel.function.params)
    return [name for name in PRECISIONS if uses_dot or name != "float32 ieee"]


def config_label(config) -> str:
    sizes = "x".join(str(v) for v in config.kwargs.values())
    return f"{sizes} w{config.num_warps} s{config.num_stages}"


def full_jobs(kernels: dict[str, AotKernel]) -> list[Job]:
    """Every kernel x configuration x dtype x target; the widest dtype first (the most shared memory)."""
    by_width = sorted(PRECISIONS, key=lambda name: -PRECISIONS[name][0].itemsize)
    return [Job(name, c, dtype, target) for dtype in by_width for target in TARGETS
            for name, kernel in kernels.items() if dtype in _dtypes_of(kernel) for c in range(len(kernel.configs))]


def quick_jobs(kernels: dict[str, AotKernel]) -> list[Job]:
    """A covering subset: each kernel family (conv2d and group; forward, input and weight gradient) in
    each configuration once, the group variant, dtype and target turning with the slot, so that every
    kernel x dtype, configuration x dtype, configuration x target and dtype x target pair occurs; the
    bias kernel once per target."""
    families = ["conv2d forward", "conv2d input grad", "conv2d weight grad", "forward", "input grad", "weight grad"]
    ops, dtypes, targets = list(GROUP_OPS), list(PRECISIONS), list(TARGETS)
    jobs = []
    for f, family in enumerate(families):
        for c in range(len(kernels["conv2d forward"].configs)):
            name = family if family.startswith("conv2d") else f"{ops[(f + c) % len(ops)]} {family}"
            jobs.append(Job(name, c, dtypes[(f + c) % len(dtypes)], targets[(f + c) % len(targets)]))
    jobs += [Job("conv2d bias grad", 0, "float32 tf32", target) for target in targets]
    return jobs


# --- compiling one job (in a worker process) ----------------------------------------------------------


def _source_and_options(kernel: AotKernel, job: Job):
    import triton

    from kernels.triton.launch import precision_constexprs

    config = kernel.configs[job.config]
    torch_dtype, pointer_type, dot_precision = PRECISIONS[job.dtype]
    values = {**precision_constexprs(torch_dtype), "DOT_PRECISION": dot_precision, **kernel.constexprs,
              **config.kwargs}
    signature, constexprs = {}, {}
    for param in kernel.function.params:
        if param.is_constexpr:
            signature[param.name] = "constexpr"
            constexprs[param.name] = values[param.name]
        elif param.name.endswith("_ptr"):
            signature[param.name] = "*i32" if param.name in ("index_ptr", "landing_ptr") else f"*{pointer_type}"
        else:
            signature[param.name] = "i32"
    source = triton.compiler.ASTSource(fn=kernel.function, signature=signature, constexprs=constexprs)
    return source, {"num_warps": config.num_warps, "num_stages": config.num_stages}


def _cache_directory() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "conv_circuits" / "aot"


def _parse_ptxas_log(log: str) -> tuple[int, int, int]:
    """(registers, static shared bytes, spill bytes) from `ptxas -v`."""
    registers = re.search(r"Used (\d+) registers", log)
    spills = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", log)
    static_shared = re.search(r"(\d+) bytes smem", log)
    if registers is None or spills is None:
        raise RuntimeError(f"could not read ptxas's report:\n{log[-2000:]}")
    return (int(registers.group(1)), int(static_shared.group(1)) if static_shared else 0,
            int(spills.group(1)) + int(spills.group(2)))


def _cache_file(kernel: AotKernel, job: Job) -> Path:
    """Where the result of `job` is kept: named by Triton's version, the kernel's source hash (its code and
    every function it calls), its constexprs and signature, the target and the launch options."""
    import triton

    source, options = _source_and_options(kernel, job)
    arch, _ = TARGETS[job.target]
    key = hashlib.sha256(json.dumps([triton.__version__, source.hash(), arch, options]).encode()).hexdigest()
    return _cache_directory() / f"{key}.json"


def _row(kernel: AotKernel, job: Job, found: dict, seconds: float) -> Row:
    fits = found["shared_bytes"] <= TARGETS[job.target][1]
    return Row(job.kernel, config_label(kernel.configs[job.config]), job.dtype, job.target, **found, fits=fits,
               seconds=seconds)


def cached_row(job: Job) -> Row | None:
    """The row of `job` from the cache, or None."""
    kernel = aot_kernels()[job.kernel]
    cached = _cache_file(kernel, job)
    return _row(kernel, job, json.loads(cached.read_text()), 0.0) if cached.exists() else None


def compile_job(job: Job) -> Row:
    """Compile one kernel, configuration, dtype and target to a cubin; read its resources; cache them."""
    import triton
    from triton import knobs
    from triton.backends.compiler import GPUTarget

    kernel = aot_kernels()[job.kernel]
    source, options = _source_and_options(kernel, job)
    arch, _ = TARGETS[job.target]
    knobs.nvidia.dump_ptxas_log = True      # ptxas -v's report, printed to stdout: captured below
    knobs.compilation.always_compile = True  # a hit in Triton's own cache would skip ptxas and its report
    log = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(log):
        compiled = triton.compile(source, target=GPUTarget("cuda", arch, 32), options=options)
    seconds = time.perf_counter() - start
    if not compiled.asm.get("cubin") or f".target sm_{arch}" not in compiled.asm["ptx"]:
        raise RuntimeError(f"{job}: no cubin for sm_{arch}")
    registers, static_shared, spills = _parse_ptxas_log(log.getvalue())
    found = {"registers": registers, "shared_bytes": compiled.metadata.shared + static_shared, "spill_bytes": spills,
             "tf32": ".tf32" in compiled.asm["ptx"]}
    cached = _cache_file(kernel, job)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(found))
    return _row(kernel, job, found, seconds)


def _compile_job_or_error(job: Job):
    try:
        return compile_job(job)
    except Exception as error:  # reported with the job, so one broken kernel does not hide the others
        return f"{job.kernel} / config {job.config} / {job.dtype} / {job.target}: {type(error).__name__}: {error}"


def _compile_all(quick: bool, jobs: int, use_cache: bool) -> dict:
    kernels = aot_kernels()
    todo = quick_jobs(kernels) if quick else full_jobs(kernels)
    results = [cached_row(job) if use_cache else None for job in todo]
    missing = [job for job, row in zip(todo, results) if row is None]
    if missing:  # spawn: fresh workers that import triton with TRITON_INTERPRET=0 (inherited), no forked torch state
        with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(missing))), mp_context=get_context("spawn")) as pool:
            compiled = iter(list(pool.map(_compile_job_or_error, missing)))
        results = [row if row is not None else next(compiled) for row in results]
    return {"rows": [asdict(r) for r in results if isinstance(r, Row)],
            "errors": [r for r in results if isinstance(r, str)]}


def compile_ahead_of_time(quick: bool = False, jobs: int | None = None, use_cache: bool = True) -> tuple[list[Row], list[str]]:
    """(rows, errors) of the ahead-of-time compilation, run in a child process with TRITON_INTERPRET=0."""
    jobs = jobs or os.cpu_count() or 1
    env = {**os.environ, "TRITON_INTERPRET": "0", "TRITON_DEFAULT_FP_FUSION": "1"}  # 1: Triton 3.9's default
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "aot.json"
        env["TRITON_CACHE_DIR"] = str(Path(scratch) / "triton-cache")  # leave the user's Triton cache alone
        command = [sys.executable, "-m", "kernels.gpu_check", "--compile-to", str(out), "--jobs", str(jobs)]
        command += ["--quick"] if quick else []
        command += [] if use_cache else ["--no-cache"]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"ahead-of-time compilation failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        result = json.loads(out.read_text())
    return [Row(**row) for row in result["rows"]], result["errors"]


# --- the table ----------------------------------------------------------------------------------------


def format_aot_table(rows: list[Row]) -> str:
    """One line per kernel, configuration and dtype; per target: registers / shared KiB / spilled bytes."""
    by_key = {}
    for row in rows:
        by_key.setdefault((row.kernel, row.config, row.dtype), {})[row.target] = row
    targets = list(TARGETS)
    header = f"{'kernel':<22} {'config':<17} {'dtype':<13}" + "".join(f" {t + ' regs/smem KiB/spill':>28}" for t in targets)
    lines = [header, "-" * len(header)]
    for (kernel, config, dtype), per_target in by_key.items():
        cells = []
        for target in targets:
            r = per_target.get(target)
            cells.append(f"{'-':>28}" if r is None else
                         f"{r.registers:>10} /{r.shared_bytes / 1024:>6.1f}{'' if r.fits else '!'} /{r.spill_bytes:>6}")
        lines.append(f"{kernel:<22} {config:<17} {dtype:<13}" + "".join(f" {c:>28}" for c in cells))
    return "\n".join(lines)


def summarize_aot(rows: list[Row]) -> str:
    """Per configuration and target: the largest shared memory and whether it fits; the spills."""
    lines = []
    for target, (_, limit) in TARGETS.items():
        mine = [r for r in rows if r.target == target]
        for config in dict.fromkeys(r.config for r in mine):
            those = [r for r in mine if r.config == config]
            worst = max(those, key=lambda r: r.shared_bytes)
            spilling = [r for r in those if r.spill_bytes]
            lines.append(f"{target} {config:<17} shared max {worst.shared_bytes / 1024:6.1f} KiB of {limit // 1024} "
                         f"({worst.kernel}, {worst.dtype}){'' if worst.fits else ' DOES NOT FIT'}; "
                         f"{len(spilling)}/{len(those)} compilations spill (max {max((r.spill_bytes for r in those), default=0)} B)")
    return "\n".join(lines)


# --- on a GPU -----------------------------------------------------------------------------------------


def run_on_gpu() -> int:
    """The conformance suite and the benchmark against cuDNN; the exit status of the suite."""
    import pytest

    from kernels import bench

    if not TESTS.is_dir():
        print(f"no test suite at {TESTS}: run from a checkout of the repository", flush=True)
        status = 1
    else:
        torch.backends.cudnn.allow_tf32 = False  # float32 held to float32 tolerances, kernels and reference alike
        torch.backends.cuda.matmul.allow_tf32 = False
        try:
            status = int(pytest.main(["-q", "-p", "no:cacheprovider", str(TESTS)]))
        finally:
            torch.backends.cudnn.allow_tf32 = True  # cuDNN's default: the benchmark compares like for like
    for dtype in ("float32", "float16"):
        bench.main(["--device", "cuda", "--dtype", dtype])
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernels.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--aot", action="store_true", help="only the ahead-of-time compilation, GPU or not")
    parser.add_argument("--quick", action="store_true", help="the covering subset of the compilations (what CI runs)")
    parser.add_argument("--jobs", type=int, default=None, help="compile in this many processes (default: one per CPU)")
    parser.add_argument("--no-cache", action="store_true", help="compile again even where a result is cached")
    parser.add_argument("--json", help="also write the AOT rows to this JSON file")
    parser.add_argument("--compile-to", help=argparse.SUPPRESS)  # the child process: compile, write JSON, exit
    args = parser.parse_args(argv)
    if args.compile_to:
        result = _compile_all(args.quick, args.jobs or os.cpu_count() or 1, not args.no_cache)
        Path(args.compile_to).write_text(json.dumps(result))
        return 0

    status = 0
    if args.aot:
        pass
    elif torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name()}; the conformance suite, then the benchmark against cuDNN", flush=True)
        status = run_on_gpu()
    else:
        print("no GPU here (torch.cuda.is_available() is False): only the ahead-of-time compilation for sm_80 and sm_90",
              flush=True)
    start = time.perf_counter()
    rows, errors = compile_ahead_of_time(args.quick, args.jobs, not args.no_cache)
    print(format_aot_table(rows))
    print(summarize_aot(rows))
    print(f"{len(rows)} compilations in {time.perf_counter() - start:.0f} s "
          f"({sum(r.seconds == 0 for r in rows)} from the cache); shared memory per block is checked against "
          + ", ".join(f"{t} {limit // 1024} KiB" for t, (_, limit) in TARGETS.items()) + "; ! marks a row over it")
    for error in errors:
        print(f"FAILED {error}")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in rows], indent=1))
    too_big = [r for r in rows if not r.fits]
    return status or int(bool(errors) or bool(too_big))


if __name__ == "__main__":
    sys.exit(main())
