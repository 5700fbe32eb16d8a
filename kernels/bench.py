"""Benchmark conv2d backends against torch.nn.functional.conv2d: ``python -m kernels.bench``.

For each shape and each backend available on the device, the forward pass and the backward
pass (input and weight gradients together) are timed; the table gives milliseconds, GFLOP/s
and the ratio of the backend's speed to F.conv2d's measured in the same run. Backends are
timed in alternation (torch, cpp, torch, cpp, ...) and the median of the repetitions is
kept, so a burst of load from another process hits every backend alike.

FLOPs: a forward pass does 2*N*K*P*Q*(C/groups)*R*S (one multiply and one add per term);
the backward pass twice that (the input and the weight gradients each cost one forward).

Options: --quick (two small shapes, two repetitions: a smoke test), --reps N, --dtype,
--device cpu|cuda, --threads N, --json PATH (the rows, for the lesson's chart).
On a busy machine (more runnable processes than cores) the OpenMP threads of F.conv2d's
oneDNN kernels wait on each other and its numbers collapse; --threads 1 then gives the
fairer comparison.
On a CPU the Triton backend runs through its interpreter, thousands of times slower than
compiled code: it is skipped there, with that reason printed.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

# (N, C, H, W, K, k, stride, padding, groups)
SHAPES = [
    (8, 64, 32, 32, 64, 3, 1, 1, 1),
    (32, 3, 32, 32, 32, 5, 1, 2, 1),
    (1, 256, 14, 14, 256, 3, 1, 1, 1),
    (8, 128, 28, 28, 128, 1, 1, 0, 1),
    (16, 32, 64, 64, 64, 3, 2, 1, 1),
    (8, 64, 32, 32, 64, 3, 1, 1, 64),  # depthwise
]
QUICK_SHAPES = [(2, 8, 12, 12, 8, 3, 1, 1, 1), (2, 8, 12, 12, 8, 3, 2, 1, 8)]


@dataclass
class Row:
    shape: tuple
    backend: str
    forward_ms: float
    forward_gflops: float
    forward_ratio: float      # backend speed / F.conv2d speed (>1: faster than torch)
    backward_ms: float
    backward_gflops: float
    backward_ratio: float


def forward_flops(shape) -> float:
    N, C, H, W, K, k, stride, padding, groups = shape
    P = (H + 2 * padding - k) // stride + 1
    Q = (W + 2 * padding - k) // stride + 1
    return 2.0 * N * K * P * Q * (C // groups) * k * k


def _conv_function(backend: str):
    if backend == "torch":
        return lambda x, w, b, s, p, g: F.conv2d(x, w, b, s, p, 1, g)
    import kernels

    return lambda x, w, b, s, p, g: kernels.conv2d(x, w, b, s, p, 1, g, backend=backend)


def backends_to_run(device: str) -> tuple[list[str], dict[str, str]]:
    """The backends to time on `device` (torch first) and, for the others, why not."""
    import kernels

    run, skipped = ["torch"], {}
    for name, (ok, reason) in kernels.backends().items():
        if name == "torch":
            continue
        if not ok:
            skipped[name] = reason
        elif name == "triton" and device == "cpu":
            skipped[name] = "runs under the Triton interpreter on a CPU: far too slow to benchmark"
        elif name == "cpp" and device != "cpu":
            skipped[name] = "CPU kernels; not timed on a GPU"
        elif name == "cuda" and device != "cuda":
            skipped[name] = "GPU kernels; not timed on a CPU"
        else:
            run.append(name)
    return run, skipped


def _synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()


def _time(fn, device) -> float:
    _synchronize(device)
    start = time.perf_counter()
    fn()
    _synchronize(device)
    return time.perf_counter() - start


def benchmark_shape(shape, backends, reps, dtype, device) -> list[Row]:
    """Time forward and backward of every backend on one shape, alternating between them."""
    N, C, H, W, K, k, stride, padding, groups = shape
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(N, C, H, W, generator=generator, dtype=dtype).to(device)
    w = (torch.randn(K, C // groups, k, k, generator=generator, dtype=dtype) / math.sqrt(C // groups * k * k)).to(device)
    b = torch.randn(K, generator=generator, dtype=dtype).to(device)
    xg, wg, bg = (t.clone().requires_grad_() for t in (x, w, b))
    convs = {name: _conv_function(name) for name in backends}

    graphs = {}
    def forward(name):
        return lambda: convs[name](x, w, b, stride, padding, groups)

    def backward(name):
        y, grad_output = graphs[name]
        return lambda: torch.autograd.grad(y, (xg, wg, bg), grad_output, retain_graph=True)

    for name in backends:  # warm up (and build graphs for the backward timings)
        forward(name)()
        y = convs[name](xg, wg, bg, stride, padding, groups)
        graphs[name] = (y, torch.randn_like(y))
        backward(name)()

    times = {name: ([], []) for name in backends}
    with torch.no_grad():
        for _ in range(reps):
            for name in backends:
                times[name][0].append(_time(forward(name), device))
    for _ in range(reps):
        for name in backends:
            times[name][1].append(_time(backward(name), device))

    flops = forward_flops(shape)
    medians = {name: (statistics.median(f), statistics.median(bw)) for name, (f, bw) in times.items()}
    torch_forward, torch_backward = medians["torch"]
    return [
        Row(tuple(shape), name, 1e3 * fwd, flops / fwd / 1e9, torch_forward / fwd,
            1e3 * bwd, 2 * flops / bwd / 1e9, torch_backward / bwd)
        for name, (fwd, bwd) in medians.items()
    ]


def geometric_mean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


def format_table(rows: list[Row]) -> str:
    header = (f"{'N, C, H, W, K, k, stride, pad, groups':<38} {'backend':<8} {'fwd ms':>8} {'GFLOP/s':>8} "
              f"{'x torch':>8} {'bwd ms':>8} {'GFLOP/s':>8} {'x torch':>8}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{str(r.shape):<38} {r.backend:<8} {r.forward_ms:8.2f} {r.forward_gflops:8.1f} "
                     f"{r.forward_ratio:8.2f} {r.backward_ms:8.2f} {r.backward_gflops:8.1f} {r.backward_ratio:8.2f}")
    lines.append("")
    for name in dict.fromkeys(r.backend for r in rows):
        if name == "torch":
            continue
        mine = [r for r in rows if r.backend == name]
        lines.append(f"{name}: geometric mean of speed / F.conv2d speed: forward "
                     f"{geometric_mean(r.forward_ratio for r in mine):.2f}x, backward "
                     f"{geometric_mean(r.backward_ratio for r in mine):.2f}x")
    return "\n".join(lines)


def machine_description(device: str) -> str:
    if device == "cuda":
        return f"{torch.cuda.get_device_name()}, torch {torch.__version__}"
    import platform

    model = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {torch.get_num_threads()} threads, torch {torch.__version__}"


def main(argv=None) -> list[Row]:
    parser = argparse.ArgumentParser(prog="python -m kernels.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small shapes, two repetitions (smoke test)")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions per backend (default 7)")
    parser.add_argument("--dtype", choices=["float32", "float64", "float16", "bfloat16"], default="float32")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for every backend (default: torch's default, one per core)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no GPU here")
    dtype = getattr(torch, args.dtype)
    if args.threads:
        torch.set_num_threads(args.threads)
    shapes = QUICK_SHAPES if args.quick else SHAPES
    reps = args.reps or (2 if args.quick else 7)

    backends, skipped = backends_to_run(args.device)
    print(f"machine: {machine_description(args.device)}; dtype {args.dtype}; median of {reps} alternating runs")
    for name, reason in skipped.items():
        print(f"skipped {name}: {reason}")
    rows = []
    for shape in shapes:
        rows += benchmark_shape(shape, backends, reps, dtype, args.device)
    print(format_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) for r in rows], f, indent=1)
    return rows


if __name__ == "__main__":
    main()
