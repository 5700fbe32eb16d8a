"""Benchmark conv2d backends against torch.nn.functional.conv2d: ``python -m kernels.bench``.

For each shape and each backend available on the device, the forward pass and the backward
pass (input and weight gradients together) are timed; the table gives milliseconds, GFLOP/s
and the ratio of the backend's speed to F.conv2d's measured in the same run. Backends are
timed in alternation (torch, cpp, torch, cpp, ...) and the median of the repetitions is
kept, so a burst of load from another process hits every backend alike.

FLOPs: a forward pass does 2*N*K*P*Q*(C/groups)*R*S (one multiply and one add per term);
the backward pass twice that (the input and the weight gradients each cost one forward).

Group convolutions (p4 / p4m lifting and group conv, `--groups`, on by default): each fused
backend (cpp on a CPU; cuda and triton on a GPU) against the reference, the expanded filter bank
plus F.conv2d (kernels/group_reference.py), forward and forward+backward, median of alternating
runs, with 1 and 2 CPU threads; the ratio is reference time / fused time (>1: the fused kernel is
faster). `group_benchmark(...)` gives the rows to a lesson.

Options: --quick (two small shapes, two repetitions: a smoke test), --reps N, --dtype,
--device cpu|cuda, --threads N, --json PATH (the rows, for the lesson's chart),
--groups / --no-groups (the group section), --only-groups (skip the conv2d section).
On a busy machine (more runnable processes than cores) the OpenMP threads of F.conv2d's
oneDNN kernels wait on each other and its numbers collapse; --threads 1 then gives the
fairer comparison.
On a CPU the Triton backend runs through its interpreter, thousands of times slower than
compiled code: it is skipped there, with that reason printed.
"""
from __future__ import annotations

import argparse
import contextlib
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

    run, skipped = split_backends(kernels.backends(), device)
    return ["torch"] + run, skipped


def split_backends(statuses: dict, device: str) -> tuple[list[str], dict[str, str]]:
    """From {name: (available, reason)}: the non-reference backends worth timing on `device`, and why not the rest."""
    run, skipped = [], {}
    for name, (ok, reason) in statuses.items():
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


# --- group convolutions: fused kernels against the expanded-filter reference -------------------------

# (op, N, Cin, Cout, H, W, k, stride, padding): lesson-sized layers
GROUP_SHAPES = [
    ("p4_lift", 32, 3, 16, 32, 32, 5, 1, 2),
    ("p4_conv", 32, 16, 16, 32, 32, 3, 1, 1),
    ("p4m_lift", 32, 3, 8, 32, 32, 5, 1, 2),
    ("p4m_conv", 32, 8, 8, 32, 32, 3, 1, 1),
    ("p4m_conv", 32, 8, 8, 32, 32, 5, 1, 2),
    ("p4_conv", 32, 8, 8, 32, 32, 3, 2, 1),  # stride 2: per-offset planes forward, per-phase input gradient
]
QUICK_GROUP_SHAPES = [("p4_conv", 2, 2, 2, 8, 8, 3, 1, 1), ("p4m_lift", 2, 2, 2, 9, 9, 3, 2, 1)]
SMALL_GROUP_SHAPE = ("p4m_conv", 8, 4, 4, 16, 16, 3, 1, 1)  # group_benchmark's default: well under a second


@dataclass
class GroupRow:
    op: str
    shape: tuple              # (N, Cin, Cout, H, W, k, stride, padding)
    backend: str              # the fused backend
    threads: int
    reference_forward_ms: float
    fused_forward_ms: float
    forward_ratio: float      # reference time / fused time, forward only (>1: fused is faster)
    reference_train_ms: float
    fused_train_ms: float
    ratio: float              # reference time / fused time, forward + backward (a training step)


def group_backends_to_run(device: str) -> tuple[list[str], dict[str, str]]:
    """The fused group backends to time on `device` and, for the others, why not."""
    import kernels

    return split_backends(kernels.group_backends(), device)


@contextlib.contextmanager
def _torch_threads(count):
    previous = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)


def _group_inputs(shape, dtype, device):
    import kernels

    op, N, cin, cout, H, W, k, stride, padding = shape
    order = 8 if op.startswith("p4m") else 4
    group_axis = () if op.endswith("_lift") else (order,)
    generator = torch.Generator().manual_seed(0)
    fan_in = cin * (1 if op.endswith("_lift") else order) * k * k
    x = torch.randn(N, cin, *group_axis, H, W, generator=generator, dtype=dtype).to(device)
    w = (torch.randn(cout, cin, *group_axis, k, k, generator=generator, dtype=dtype) / math.sqrt(fan_in)).to(device)
    b = torch.randn(cout, generator=generator, dtype=dtype).to(device)
    return getattr(kernels, op), x, w, b, stride, padding


def benchmark_group_shape(shape, backends, reps, dtype, device, threads) -> list[GroupRow]:
    """Time the reference and each fused backend on one group-convolution shape, alternating between them."""
    function, x, w, b, stride, padding = _group_inputs(shape, dtype, device)
    leaves = [t.clone().requires_grad_() for t in (x, w, b)]
    names = ["torch", *backends]
    grad_output = torch.randn_like(function(x, w, b, stride, padding, backend="torch"))

    def forward(name):
        return lambda: function(x, w, b, stride, padding, backend=name)

    def train(name):  # forward + backward: the gradients of input, weight and bias
        return lambda: torch.autograd.grad(function(*leaves, stride, padding, backend=name), leaves, grad_output)

    times = {name: ([], []) for name in names}
    for name in names:  # warm up
        forward(name)()
        train(name)()
    for _ in range(reps):
        for name in names:
            with torch.no_grad():
                times[name][0].append(_time(forward(name), device))
            times[name][1].append(_time(train(name), device))
    medians = {name: (statistics.median(f), statistics.median(t)) for name, (f, t) in times.items()}
    ref_forward, ref_train = medians["torch"]
    return [
        GroupRow(shape[0], tuple(shape[1:]), name, threads, 1e3 * ref_forward, 1e3 * medians[name][0],
                 ref_forward / medians[name][0], 1e3 * ref_train, 1e3 * medians[name][1], ref_train / medians[name][1])
        for name in backends
    ]


def group_benchmark(shapes=(SMALL_GROUP_SHAPE,), reps: int = 3, threads=(None,), *, dtype=torch.float32,
                    device: str = "cpu", backends=None) -> list[GroupRow]:
    """Fused group convolutions against the expanded-filter reference: one GroupRow per shape, backend, threads.

    shapes: (op, N, Cin, Cout, H, W, k, stride, padding) tuples, op in p4_lift, p4_conv, p4m_lift, p4m_conv;
    threads: CPU thread counts to run each shape with (None: torch's current setting); backends: the fused
    backends to time (default: every one that runs on `device`, see group_backends_to_run). Each row's
    `.ratio` is reference time / fused time for forward + backward, `.forward_ratio` for the forward alone.
    The default, one small shape, three repetitions, takes well under 3 seconds on a CPU.
    """
    if backends is None:
        backends, _ = group_backends_to_run(device)
    if isinstance(threads, int) or threads is None:
        threads = (threads,)
    rows = []
    for count in threads:
        with _torch_threads(count) as used:
            for shape in shapes:
                rows += benchmark_group_shape(shape, list(backends), reps, dtype, device, used)
    return rows


def format_group_table(rows: list[GroupRow]) -> str:
    header = (f"{'op':<9} {'N, Cin, Cout, H, W, k, stride, pad':<36} {'backend':<7} {'thr':>3} "
              f"{'ref fwd':>8} {'fused':>8} {'x ref':>6} {'ref f+b':>8} {'fused':>8} {'x ref':>6}")
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r.op:<9} {str(r.shape):<36} {r.backend:<7} {r.threads:>3} {r.reference_forward_ms:8.2f} "
                     f"{r.fused_forward_ms:8.2f} {r.forward_ratio:6.2f} {r.reference_train_ms:8.2f} "
                     f"{r.fused_train_ms:8.2f} {r.ratio:6.2f}")
    lines.append("(milliseconds, median; x ref = reference time / fused time, > 1: the fused kernel is faster)")
    for name in dict.fromkeys(r.backend for r in rows):
        for count in dict.fromkeys(r.threads for r in rows):
            mine = [r for r in rows if r.backend == name and r.threads == count]
            if mine:
                lines.append(f"{name}, {count} thread(s): geometric mean of reference / fused: forward "
                             f"{geometric_mean(r.forward_ratio for r in mine):.2f}x, forward+backward "
                             f"{geometric_mean(r.ratio for r in mine):.2f}x")
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


def main(argv=None) -> list:
    """Run the benchmark; return the conv2d rows (the group rows with --only-groups)."""
    parser = argparse.ArgumentParser(prog="python -m kernels.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two small shapes, two repetitions (smoke test)")
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions per backend (default 7)")
    parser.add_argument("--dtype", choices=["float32", "float64", "float16", "bfloat16"], default="float32")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for every backend (default: torch's default, one per core)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    parser.add_argument("--groups", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the fused p4/p4m group convolutions against the reference (default: on)")
    parser.add_argument("--only-groups", action="store_true", help="skip the conv2d section")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no GPU here")
    dtype = getattr(torch, args.dtype)
    if args.threads:
        torch.set_num_threads(args.threads)
    shapes = QUICK_SHAPES if args.quick else SHAPES
    reps = args.reps or (2 if args.quick else 7)

    print(f"machine: {machine_description(args.device)}; dtype {args.dtype}; median of {reps} alternating runs")
    rows = []
    if not args.only_groups:
        backends, skipped = backends_to_run(args.device)
        for name, reason in skipped.items():
            print(f"skipped {name}: {reason}")
        for shape in shapes:
            rows += benchmark_shape(shape, backends, reps, dtype, args.device)
        print(format_table(rows))
    group_rows = []
    if args.groups or args.only_groups:
        group_backends, skipped = group_backends_to_run(args.device)
        print("\ngroup convolutions: fused kernels vs the reference (expanded filter bank + F.conv2d)")
        for name, reason in skipped.items():
            print(f"skipped group backend {name}: {reason}")
        if group_backends:
            threads = (args.threads,) if args.threads else ((1, 2) if args.device == "cpu" else (None,))
            group_rows = group_benchmark(QUICK_GROUP_SHAPES if args.quick else GROUP_SHAPES, reps, threads,
                                         dtype=dtype, device=args.device, backends=group_backends)
            print(format_group_table(group_rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) for r in rows] + [{"kind": "group", **asdict(r)} for r in group_rows], f, indent=1)
    return group_rows if args.only_groups else rows  # the group rows of a full run: group_benchmark(...)


if __name__ == "__main__":
    main()
