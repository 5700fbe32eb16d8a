"""Benchmark conv2d backends against torch.nn.functional.conv2d: ``python -m kernels.bench``.

The method, built so that a noisy machine cannot flatter a kernel:
- Rounds alternate: every candidate (F.conv2d and each backend; forward and backward) runs once
  per round, the round's starting candidate rotating, all in one process. Each candidate is warmed
  up first and then runs `calls` times per round, enough calls for about `round_s` seconds; its
  round time is the mean time per call in that round.
- For each candidate the table gives the **best** round (the minimum: what the code can do when
  nothing interferes) and the **median** round with its interquartile range [q1-q3] (quartiles of
  the round times, inclusive method). The headline ratio is best against best; the median ratio
  stands beside it. Load from other processes only ever adds time, so the best is the stable
  number; a median can land on either mode of a bimodal candidate.
- Bimodal rounds are detected and said: when the sorted round times of a candidate have a gap of
  more than BIMODAL_GAP x between neighbours with at least BIMODAL_MIN_ROUNDS rounds on each side
  (e.g. F.conv2d taking 1.3 ms in some rounds and 7.5 ms in others), the row is marked and a note
  gives both clusters; its median ratio then means little.
- The practical ceiling is measured in the same run: the best round of an n x n x n matmul
  (n = 2048; 512 with --quick) in the benchmark's dtype, as GFLOP/s, with the same threads; each
  kernel's GFLOP/s is also given as a fraction of it.

FLOPs: a forward pass does 2*N*K*P*Q*(C/groups)*R*S (one multiply and one add per term);
the backward pass twice that (the input and the weight gradients each cost one forward).
Forward and backward are timed separately; "forward+backward" ratios add the two best (or the
two median) times of each candidate.

Group convolutions (p4 / p4m lifting and group conv, `--groups`, on by default): each fused
backend (cpp on a CPU; cuda and triton on a GPU) against the reference, the expanded filter bank
plus F.conv2d (kernels/group_reference.py), forward and forward+backward (one training step,
timed as one), same method, with 1 and 2 CPU threads; the ratio is reference time / fused time
(>1: the fused kernel is faster). FLOPs are those of the expanded convolution both compute.
`group_benchmark(...)` gives the rows to a lesson.

For a lesson: `benchmark_shape(...)` (conv2d rows), `group_benchmark(...)` (group rows),
`matmul_ceiling(...)` (the ceiling), `format_table(rows, ceiling)`, `format_group_table(rows,
ceilings)`, `speed_summary(rows)` (geometric means, best and median), `bimodal_split(times)`.

Options: --quick (two small shapes, four short rounds, a 512^3 ceiling: a smoke test),
--rounds N (alias --reps), --round-ms T, --dtype, --device cpu|cuda, --threads N, --json PATH
(the rows and the ceilings), --groups / --no-groups (the group section), --only-groups (skip
the conv2d section).
On a busy machine (more runnable processes than cores) the OpenMP threads of F.conv2d's
oneDNN kernels wait on each other and its numbers collapse (often into two modes); --threads 1
then gives the fairer comparison, and only a quiet machine gives numbers worth quoting.
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

ROUNDS = 7            # rounds of a full run
QUICK_ROUNDS = 4      # the fewest rounds in which two modes of two rounds each can show
ROUND_S = 0.03        # seconds each candidate runs per round (at least one call)
QUICK_ROUND_S = 0.002
MAX_CALLS = 200       # calls per round at most (tiny shapes)
CEILING_SIZE = 2048   # the matmul of the ceiling: n x n times n x n
QUICK_CEILING_SIZE = 512
BIMODAL_GAP = 2.0     # a gap between neighbouring sorted round times larger than this ...
BIMODAL_MIN_ROUNDS = 2  # ... with at least this many rounds on each side: two modes


# --- timing: alternating rounds, best and median -------------------------------------------------------

def _synchronize(device):
    if device == "cuda":
        torch.cuda.synchronize()


def _time(fn, device, calls: int = 1) -> float:
    """Seconds per call of `calls` consecutive calls."""
    _synchronize(device)
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    _synchronize(device)
    return (time.perf_counter() - start) / calls


def alternate_rounds(candidates: dict, rounds: int, device: str = "cpu", round_s: float = ROUND_S,
                     max_calls: int = MAX_CALLS) -> dict:
    """{key: [seconds per call, one per round]} for {key: function}, rounds alternating between the candidates.

    Each candidate is warmed up (two calls; the second sets how many calls fill `round_s` seconds),
    then every round runs every candidate once, `calls` times in a row; the starting candidate rotates
    from round to round so that no candidate always follows the same one.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    calls = {}
    for key, fn in candidates.items():
        fn()
        calls[key] = max(1, min(max_calls, round(round_s / max(_time(fn, device), 1e-9))))
    keys = list(candidates)
    times = {key: [] for key in keys}
    for r in range(rounds):
        start = r % len(keys)
        for key in keys[start:] + keys[:start]:
            times[key].append(_time(candidates[key], device, calls[key]))
    return times


def bimodal_split(times, gap: float = BIMODAL_GAP, min_rounds: int = BIMODAL_MIN_ROUNDS):
    """(fast rounds, slow rounds) if the sorted round times split at a ratio > `gap` with >= `min_rounds` each side, else None.

    Where several neighbours qualify, the largest ratio is the split.
    """
    ordered = sorted(times)
    best_at, best_ratio = None, gap
    for i in range(min_rounds - 1, len(ordered) - min_rounds):
        ratio = ordered[i + 1] / ordered[i] if ordered[i] > 0 else math.inf
        if ratio > best_ratio:
            best_at, best_ratio = i, ratio
    if best_at is None:
        return None
    return ordered[:best_at + 1], ordered[best_at + 1:]


@dataclass(frozen=True)
class Stats:
    """Summary of one candidate's round times, in milliseconds per call."""
    best_ms: float
    median_ms: float
    q1_ms: float              # the interquartile range of the rounds: [q1_ms, q3_ms]
    q3_ms: float
    modes: str                # "" or, for bimodal rounds, both clusters in words


def summarize(times) -> Stats:
    """Best (minimum), median and interquartile range of round times in seconds; the modes if bimodal."""
    ms = [1e3 * t for t in times]
    q1, _, q3 = statistics.quantiles(ms, n=4, method="inclusive") if len(ms) > 1 else (ms[0],) * 3
    split = bimodal_split(ms)
    modes = ""
    if split:
        fast, slow = split
        modes = (f"{len(fast)} rounds at {min(fast):.3g}-{max(fast):.3g} ms, {len(slow)} at "
                 f"{min(slow):.3g}-{max(slow):.3g} ms")
    return Stats(min(ms), statistics.median(ms), q1, q3, modes)


def geometric_mean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


# --- the ceiling: a matmul ------------------------------------------------------------------------------

@dataclass
class Ceiling:
    size: int                 # an n x n by n x n matmul
    dtype: str
    device: str
    threads: int
    best_ms: float
    median_ms: float
    gflops: float             # 2 n^3 / best time: the practical peak of this machine for this dtype


def matmul_ceiling(size: int = CEILING_SIZE, rounds: int = 5, *, dtype=torch.float32, device: str = "cpu",
                   threads=None, round_s: float = ROUND_S) -> Ceiling:
    """The practical compute ceiling: GFLOP/s of the best round of a size^3 matmul (2 size^3 FLOPs) with `threads`."""
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=generator, dtype=dtype).to(device) for _ in range(2))
    with _torch_threads(threads) as used:
        (times,) = alternate_rounds({"matmul": lambda: torch.mm(a, b)}, rounds, device, round_s).values()
    stats = summarize(times)
    return Ceiling(size, str(dtype).removeprefix("torch."), device, used, stats.best_ms, stats.median_ms,
                   2.0 * size ** 3 / stats.best_ms / 1e6)


def _ceiling_line(ceiling: Ceiling) -> str:
    return (f"ceiling: {ceiling.dtype} {ceiling.size}^3 matmul on {ceiling.device}, {ceiling.threads} thread(s): "
            f"best {ceiling.best_ms:.2f} ms = {ceiling.gflops:.1f} GFLOP/s (median {ceiling.median_ms:.2f} ms)")


# --- conv2d against F.conv2d --------------------------------------------------------------------------

@dataclass
class Row:
    shape: tuple
    backend: str
    forward_ms: float         # best round, ms per call
    forward_gflops: float     # at the best round
    forward_ratio: float      # backend speed / F.conv2d speed, best against best (>1: faster than torch)
    backward_ms: float
    backward_gflops: float
    backward_ratio: float
    forward_median_ms: float = math.nan
    forward_q1_ms: float = math.nan
    forward_q3_ms: float = math.nan
    forward_median_ratio: float = math.nan   # median against median
    forward_modes: str = ""                  # "" or the two clusters of bimodal rounds
    backward_median_ms: float = math.nan
    backward_q1_ms: float = math.nan
    backward_q3_ms: float = math.nan
    backward_median_ratio: float = math.nan
    backward_modes: str = ""
    train_ratio: float = math.nan            # forward+backward: torch's best fwd + bwd over this backend's
    train_median_ratio: float = math.nan     # the same with medians
    rounds: int = 0


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


def _no_grad(fn):
    def call():
        with torch.no_grad():
            return fn()
    return call


def benchmark_shape(shape, backends, reps, dtype, device, *, round_s: float = ROUND_S) -> list[Row]:
    """Rows for one shape: forward and backward of every backend (torch first) in `reps` alternating rounds."""
    N, C, H, W, K, k, stride, padding, groups = shape
    if backends[0] != "torch":
        raise ValueError(f"the reference comes first: backends must start with 'torch', got {backends}")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(N, C, H, W, generator=generator, dtype=dtype).to(device)
    w = (torch.randn(K, C // groups, k, k, generator=generator, dtype=dtype) / math.sqrt(C // groups * k * k)).to(device)
    b = torch.randn(K, generator=generator, dtype=dtype).to(device)
    xg, wg, bg = (t.clone().requires_grad_() for t in (x, w, b))

    candidates = {}
    for name in backends:
        conv = _conv_function(name)
        y = conv(xg, wg, bg, stride, padding, groups)  # the graph the backward timings reuse
        grad_output = torch.randn_like(y)
        candidates[name, "forward"] = _no_grad(lambda conv=conv: conv(x, w, b, stride, padding, groups))
        candidates[name, "backward"] = (lambda y=y, g=grad_output:
                                        torch.autograd.grad(y, (xg, wg, bg), g, retain_graph=True))
    times = alternate_rounds(candidates, reps, device, round_s)
    stats = {key: summarize(t) for key, t in times.items()}

    flops = forward_flops(shape)
    ref_f, ref_b = stats["torch", "forward"], stats["torch", "backward"]
    rows = []
    for name in backends:
        f, bw = stats[name, "forward"], stats[name, "backward"]
        rows.append(Row(
            tuple(shape), name, f.best_ms, flops / f.best_ms / 1e6, ref_f.best_ms / f.best_ms,
            bw.best_ms, 2 * flops / bw.best_ms / 1e6, ref_b.best_ms / bw.best_ms,
            f.median_ms, f.q1_ms, f.q3_ms, ref_f.median_ms / f.median_ms, f.modes,
            bw.median_ms, bw.q1_ms, bw.q3_ms, ref_b.median_ms / bw.median_ms, bw.modes,
            (ref_f.best_ms + ref_b.best_ms) / (f.best_ms + bw.best_ms),
            (ref_f.median_ms + ref_b.median_ms) / (f.median_ms + bw.median_ms), reps))
    return rows


def _of_ceiling(gflops: float, ceiling) -> str:
    return f"{100 * gflops / ceiling.gflops:6.1f}%" if ceiling else f"{'-':>7}"


def _timing_columns(best, median, q1, q3, modes) -> str:
    return f"{best:9.3f} {median:9.3f}{'*' if modes else ' '} [{q1:9.3f} -{q3:9.3f}]"


TIMING_HEADER = f"{'best':>9} {'median':>9}  [{'q1':>9} -{'q3':>9}]"
TIMING_NOTE = ("ms per call; best = fastest round, median [interquartile range] over the rounds; "
               "* = bimodal rounds (see notes); ratios: best against best, median against median in ()")


def format_table(rows: list[Row], ceiling: Ceiling | None = None) -> str:
    """The conv2d rows as text: forward and backward tables, bimodal notes and each backend's geometric means."""
    lines = []
    notes = []
    for direction in ("forward", "backward"):
        header = (f"{'conv2d ' + direction + ': N, C, H, W, K, k, s, p, g':<40} {'backend':<8} {TIMING_HEADER} "
                  f"{'GFLOP/s':>8} {'of ceil':>7} {'x torch':>8} {'(median)':>9}")
        lines += [header, "-" * len(header)]
        for r in rows:
            get = lambda field: getattr(r, f"{direction}_{field}")  # noqa: E731
            gflops = get("gflops")
            lines.append(f"{str(r.shape):<40} {r.backend:<8} "
                         f"{_timing_columns(get('ms'), get('median_ms'), get('q1_ms'), get('q3_ms'), get('modes'))} "
                         f"{gflops:8.3g} {_of_ceiling(gflops, ceiling)} {get('ratio'):8.2f} ({get('median_ratio'):6.2f})")
            if get("modes"):
                notes.append(f"bimodal: {r.backend} {direction} on {r.shape}: {get('modes')}")
        lines.append("")
    rounds = {r.rounds for r in rows}
    lines.append(f"({TIMING_NOTE}; {'/'.join(map(str, sorted(rounds)))} rounds)")
    if ceiling:
        lines.append(_ceiling_line(ceiling))
    if notes:
        lines += notes + ["  (a bimodal candidate's median sits on either mode: compare best against best)"]
    for name, means in speed_summary(rows).items():
        lines.append(f"{name}: geometric mean of speed / F.conv2d speed, best against best: forward "
                     f"{means['forward']:.2f}x, backward {means['backward']:.2f}x, forward+backward "
                     f"{means['train']:.2f}x (median against median: {means['forward_median']:.2f}x, "
                     f"{means['backward_median']:.2f}x, {means['train_median']:.2f}x)")
    return "\n".join(lines)


def speed_summary(rows: list[Row]) -> dict:
    """{backend: geometric means over the shapes} of the ratios to F.conv2d: keys forward, backward, train
    (best against best) and forward_median, backward_median, train_median; torch itself left out."""
    fields = {"forward": "forward_ratio", "backward": "backward_ratio", "train": "train_ratio",
              "forward_median": "forward_median_ratio", "backward_median": "backward_median_ratio",
              "train_median": "train_median_ratio"}
    summary = {}
    for name in dict.fromkeys(r.backend for r in rows):
        if name != "torch":
            mine = [r for r in rows if r.backend == name]
            summary[name] = {key: geometric_mean(getattr(r, field) for r in mine) for key, field in fields.items()}
    return summary


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
    reference_forward_ms: float   # best round, ms per call
    fused_forward_ms: float
    forward_ratio: float      # reference time / fused time, forward only, best against best (>1: fused is faster)
    reference_train_ms: float
    fused_train_ms: float
    ratio: float              # reference time / fused time, forward + backward (a training step), best against best
    forward_median_ratio: float = math.nan    # median against median
    median_ratio: float = math.nan
    reference_forward_median_ms: float = math.nan
    reference_forward_q1_ms: float = math.nan
    reference_forward_q3_ms: float = math.nan
    reference_forward_modes: str = ""
    fused_forward_median_ms: float = math.nan
    fused_forward_q1_ms: float = math.nan
    fused_forward_q3_ms: float = math.nan
    fused_forward_modes: str = ""
    reference_train_median_ms: float = math.nan
    reference_train_q1_ms: float = math.nan
    reference_train_q3_ms: float = math.nan
    reference_train_modes: str = ""
    fused_train_median_ms: float = math.nan
    fused_train_q1_ms: float = math.nan
    fused_train_q3_ms: float = math.nan
    fused_train_modes: str = ""
    forward_gflops: float = math.nan          # FLOPs of the expanded convolution / fused best time
    train_gflops: float = math.nan            # 3x those FLOPs (forward, input and weight gradients) / fused best
    rounds: int = 0


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


def group_forward_flops(shape) -> float:
    """FLOPs of a group convolution's forward: those of the expanded conv2d (Cout*|G| from Cin*|G_in| channels)."""
    op, N, cin, cout, H, W, k, stride, padding = shape
    order = 8 if op.startswith("p4m") else 4
    in_order = 1 if op.endswith("_lift") else order
    return forward_flops((N, cin * in_order, H, W, cout * order, k, stride, padding, 1))


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


def benchmark_group_shape(shape, backends, reps, dtype, device, threads, *, round_s: float = ROUND_S) -> list[GroupRow]:
    """Rows for one group-convolution shape: the reference and each fused backend in `reps` alternating rounds."""
    function, x, w, b, stride, padding = _group_inputs(shape, dtype, device)
    leaves = [t.clone().requires_grad_() for t in (x, w, b)]
    grad_output = torch.randn_like(function(x, w, b, stride, padding, backend="torch"))

    candidates = {}
    for name in ["torch", *backends]:
        candidates[name, "forward"] = _no_grad(lambda name=name: function(x, w, b, stride, padding, backend=name))
        candidates[name, "train"] = (lambda name=name: torch.autograd.grad(
            function(*leaves, stride, padding, backend=name), leaves, grad_output))
    stats = {key: summarize(t) for key, t in alternate_rounds(candidates, reps, device, round_s).items()}
    flops = group_forward_flops(shape)
    rows = []
    for name in backends:
        rf, ff, rt, ft = (stats["torch", "forward"], stats[name, "forward"], stats["torch", "train"], stats[name, "train"])
        rows.append(GroupRow(
            shape[0], tuple(shape[1:]), name, threads,
            rf.best_ms, ff.best_ms, rf.best_ms / ff.best_ms, rt.best_ms, ft.best_ms, rt.best_ms / ft.best_ms,
            rf.median_ms / ff.median_ms, rt.median_ms / ft.median_ms,
            rf.median_ms, rf.q1_ms, rf.q3_ms, rf.modes, ff.median_ms, ff.q1_ms, ff.q3_ms, ff.modes,
            rt.median_ms, rt.q1_ms, rt.q3_ms, rt.modes, ft.median_ms, ft.q1_ms, ft.q3_ms, ft.modes,
            flops / ff.best_ms / 1e6, 3 * flops / ft.best_ms / 1e6, reps))
    return rows


def group_benchmark(shapes=(SMALL_GROUP_SHAPE,), reps: int = 3, threads=(None,), *, dtype=torch.float32,
                    device: str = "cpu", backends=None, round_s: float = ROUND_S) -> list[GroupRow]:
    """Fused group convolutions against the expanded-filter reference: one GroupRow per shape, backend, threads.

    shapes: (op, N, Cin, Cout, H, W, k, stride, padding) tuples, op in p4_lift, p4_conv, p4m_lift, p4m_conv;
    reps: alternating rounds; threads: CPU thread counts to run each shape with (None: torch's current
    setting); backends: the fused backends to time (default: every one that runs on `device`, see
    group_backends_to_run). Each row's `.ratio` is reference time / fused time for forward + backward,
    `.forward_ratio` for the forward alone, both best against best (`.median_ratio`,
    `.forward_median_ratio`: median against median). The default, one small shape, three rounds,
    takes well under 3 seconds on a CPU.
    """
    if backends is None:
        backends, _ = group_backends_to_run(device)
    if isinstance(threads, int) or threads is None:
        threads = (threads,)
    rows = []
    for count in threads:
        with _torch_threads(count) as used:
            for shape in shapes:
                rows += benchmark_group_shape(shape, list(backends), reps, dtype, device, used, round_s=round_s)
    return rows


def format_group_table(rows: list[GroupRow], ceilings: dict | None = None) -> str:
    """The group rows as text; `ceilings` ({threads: Ceiling}) adds each fused kernel's fraction of the matmul ceiling."""
    ceilings = ceilings or {}
    lines, notes = [], []
    for phase, label in (("forward", "forward"), ("train", "forward+backward")):
        header = (f"{'group ' + label + ': op (N, Cin, Cout, H, W, k, s, p)':<48} {'candidate':<9} {'thr':>3} "
                  f"{TIMING_HEADER} {'GFLOP/s':>8} {'of ceil':>7} {'x ref':>6} {'(median)':>9}")
        lines += [header, "-" * len(header)]
        ratio, median_ratio = ("forward_ratio", "forward_median_ratio") if phase == "forward" else ("ratio", "median_ratio")
        seen = set()
        for r in rows:
            name = f"{r.op} {r.shape}"
            for who in ("reference", "fused"):
                if who == "reference" and (name, r.threads) in seen:
                    continue  # one reference line per shape and thread count
                seen.add((name, r.threads))
                get = lambda field: getattr(r, f"{who}_{phase}_{field}")  # noqa: E731
                best = getattr(r, f"{who}_{phase}_ms")
                flops = group_forward_flops((r.op, *r.shape)) * (3 if phase == "train" else 1)
                gflops = flops / best / 1e6
                ratios = (f"{getattr(r, ratio):6.2f} ({getattr(r, median_ratio):6.2f})" if who == "fused"
                          else f"{1:6.2f} ({1:6.2f})")
                lines.append(f"{name:<48} {'ref' if who == 'reference' else r.backend:<9} {r.threads:>3} "
                             f"{_timing_columns(best, get('median_ms'), get('q1_ms'), get('q3_ms'), get('modes'))} "
                             f"{gflops:8.3g} {_of_ceiling(gflops, ceilings.get(r.threads))} {ratios}")
                if get("modes"):
                    notes.append(f"bimodal: {'reference' if who == 'reference' else r.backend} {label} on {name}, "
                                 f"{r.threads} thread(s): {get('modes')}")
        lines.append("")
    lines.append(f"({TIMING_NOTE.replace('ratios:', 'x ref = reference time / fused time, > 1: the fused kernel is faster;')}; "
                 f"{'/'.join(map(str, sorted({r.rounds for r in rows})))} rounds)")
    for count in dict.fromkeys(r.threads for r in rows):
        if count in ceilings:
            lines.append(_ceiling_line(ceilings[count]))
    if notes:
        lines += notes + ["  (a bimodal candidate's median sits on either mode: compare best against best)"]
    for name in dict.fromkeys(r.backend for r in rows):
        for count in dict.fromkeys(r.threads for r in rows):
            mine = [r for r in rows if r.backend == name and r.threads == count]
            if mine:
                lines.append(f"{name}, {count} thread(s): geometric mean of reference / fused, best against best: "
                             f"forward {geometric_mean(r.forward_ratio for r in mine):.2f}x, forward+backward "
                             f"{geometric_mean(r.ratio for r in mine):.2f}x (median against median: "
                             f"{geometric_mean(r.forward_median_ratio for r in mine):.2f}x, "
                             f"{geometric_mean(r.median_ratio for r in mine):.2f}x)")
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
    parser.add_argument("--quick", action="store_true",
                        help="two small shapes, four short rounds, a 512^3 ceiling (smoke test)")
    parser.add_argument("--rounds", "--reps", dest="rounds", type=int, default=None,
                        help=f"alternating rounds per candidate (default {ROUNDS}; {QUICK_ROUNDS} with --quick)")
    parser.add_argument("--round-ms", type=float, default=None,
                        help=f"milliseconds each candidate runs per round (default {1e3 * ROUND_S:g}; "
                             f"{1e3 * QUICK_ROUND_S:g} with --quick)")
    parser.add_argument("--dtype", choices=["float32", "float64", "float16", "bfloat16"], default="float32")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for every backend (default: torch's default, one per core)")
    parser.add_argument("--json", help="also write the rows and the ceilings to this JSON file")
    parser.add_argument("--groups", action=argparse.BooleanOptionalAction, default=True,
                        help="also time the fused p4/p4m group convolutions against the reference (default: on)")
    parser.add_argument("--only-groups", action="store_true", help="skip the conv2d section")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no GPU here")
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds must be at least 1")
    dtype = getattr(torch, args.dtype)
    if args.threads:
        torch.set_num_threads(args.threads)
    shapes = QUICK_SHAPES if args.quick else SHAPES
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    round_s = args.round_ms / 1e3 if args.round_ms else (QUICK_ROUND_S if args.quick else ROUND_S)
    size = QUICK_CEILING_SIZE if args.quick else CEILING_SIZE

    ceilings = {}

    def ceiling(threads):
        if threads not in ceilings:
            ceilings[threads] = matmul_ceiling(size, rounds, dtype=dtype, device=args.device, threads=threads,
                                               round_s=round_s)
        return ceilings[threads]

    print(f"machine: {machine_description(args.device)}; dtype {args.dtype}; {rounds} alternating rounds "
          f"of about {1e3 * round_s:g} ms per candidate")
    rows = []
    if not args.only_groups:
        backends, skipped = backends_to_run(args.device)
        for name, reason in skipped.items():
            print(f"skipped {name}: {reason}")
        for shape in shapes:
            rows += benchmark_shape(shape, backends, rounds, dtype, args.device, round_s=round_s)
        print(format_table(rows, ceiling(torch.get_num_threads())))
    group_rows = []
    if args.groups or args.only_groups:
        group_backends, skipped = group_backends_to_run(args.device)
        print("\ngroup convolutions: fused kernels vs the reference (expanded filter bank + F.conv2d)")
        for name, reason in skipped.items():
            print(f"skipped group backend {name}: {reason}")
        if group_backends:
            threads = (args.threads,) if args.threads else ((1, 2) if args.device == "cpu" else (None,))
            group_rows = group_benchmark(QUICK_GROUP_SHAPES if args.quick else GROUP_SHAPES, rounds, threads,
                                         dtype=dtype, device=args.device, backends=group_backends, round_s=round_s)
            print(format_group_table(group_rows, {count: ceiling(count) for count in
                                                  dict.fromkeys(r.threads for r in group_rows)}))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) for r in rows] + [{"kind": "group", **asdict(r)} for r in group_rows]
                      + [{"kind": "ceiling", **asdict(c)} for c in ceilings.values()], f, indent=1)
    return group_rows if args.only_groups else rows  # the group rows of a full run: group_benchmark(...)


if __name__ == "__main__":
    main()
