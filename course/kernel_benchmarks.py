"""This machine's benchmark numbers for the lesson: which backends can be timed now, and their rows.

The timing itself is `kernels.bench` (median of alternating repetitions, GFLOP/s, ratio to
F.conv2d in the same run). What this module adds is the lesson's caution: the C++ extension
compiles on first use (about a minute), so a quick run times it only when it is already built.
"""
from __future__ import annotations

import torch

from course.threads import cpu_threads
from kernels import bench, extension


def cpp_extension_built() -> bool:
    """True when the compiled C++ extension is in its cache and newer than every C++ source."""
    library = extension.build_directory() / f"{extension.NAME}.so"
    if not library.exists():
        return False
    newest_source = max(p.stat().st_mtime for p in extension.CSRC.rglob("*") if p.is_file())
    return library.stat().st_mtime >= newest_source


def cpu_backends(allow_build: bool) -> tuple[list[str], str]:
    """Backends to time on the CPU (torch first) and a note on the ones left out."""
    if not allow_build and not cpp_extension_built():
        return ["torch"], "cpp not timed: its extension is not built yet (it builds on first use, about a minute)"
    run, skipped = bench.backends_to_run("cpu")
    return run, "; ".join(f"{name} not timed: {why}" for name, why in skipped.items())


def measure(shapes, backends, reps: int, threads: int | None = None) -> tuple[list[bench.Row], str]:
    """kernels.bench rows (float32, CPU) for every shape and backend, and the machine they ran on."""
    with cpu_threads(threads):
        rows = [row for shape in shapes for row in bench.benchmark_shape(shape, backends, reps, torch.float32, "cpu")]
        return rows, bench.machine_description("cpu")


def agreement_with_torch(backend: str, shape) -> float:
    """Relative error of `backend` against F.conv2d (float64) on a benchmark shape: fast must also be right."""
    from course.kernel_verification import forward_error

    N, C, H, W, K, k, stride, padding, groups = shape
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(N, C, H, W, generator=generator)
    w = torch.randn(K, C // groups, k, k, generator=generator)
    b = torch.randn(K, generator=generator)
    return forward_error(backend, x, w, b, stride=stride, padding=padding, groups=groups)


def gpu_note() -> str:
    """What the lesson can say about GPU numbers on this machine."""
    if torch.cuda.is_available():
        return f"GPU present ({torch.cuda.get_device_name()}): run `python -m kernels.bench --device cuda`"
    return "none measured: this machine has no GPU"


def group_agreement(backend: str, op: str = "p4m_conv") -> float:
    """Largest relative error of a fused group backend against the expanded-filter reference (float64).

    Output and the gradients of input, weight and bias, on one small seeded case with padding.
    """
    import kernels

    generator = torch.Generator().manual_seed(0)
    order, lifting = (8 if op.startswith("p4m") else 4), op.endswith("_lift")
    x = torch.randn(2, 2, *(() if lifting else (order,)), 7, 7, generator=generator, dtype=torch.float64)
    w = torch.randn(3, 2, *(() if lifting else (order,)), 3, 3, generator=generator, dtype=torch.float64)
    b = torch.randn(3, generator=generator, dtype=torch.float64)
    grad = torch.randn(2, 3, order, 7, 7, generator=generator, dtype=torch.float64)
    results = []
    for name in ("torch", backend):
        inputs = [t.clone().requires_grad_() for t in (x, w, b)]
        out = getattr(kernels, op)(*inputs, padding=1, backend=name)
        results.append([out.detach(), *torch.autograd.grad(out, inputs, grad)])
    return max(((a - r).abs().max() / r.abs().max()).item() for r, a in zip(*results))


def group_measure(allow_build: bool, reps: int, threads: int = 1) -> tuple[list, str]:
    """kernels.bench group rows (fused cpp vs reference, one small shape) and a note when cpp is not timed."""
    if not allow_build and not cpp_extension_built():
        return [], "fused cpp not timed: its extension is not built yet (it builds on first use, about a minute)"
    return bench.group_benchmark(reps=reps, threads=threads, backends=["cpp"]), ""
