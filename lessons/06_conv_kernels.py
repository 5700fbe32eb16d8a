# %% [markdown]
# # 06 · Writing convolution kernels
# conv2d as an implicit GEMM: the index map from an output pixel and a filter tap to an input
# address, tiles instead of im2col's copies, how a kernel is verified (a float64 reference,
# stated tolerances, gradcheck, poisoned outputs), and this machine's benchmark numbers.

# %% tags=["parameters"]
fast = False  # True: gradcheck in fast mode and no timing, seconds instead of minutes (what `--fast` and CI use)

# %%
try:  # before `pip install -e .` the course cannot be imported: say so in one line, not a traceback
    import course  # noqa: F401
except ModuleNotFoundError as missing:
    raise SystemExit(f"{missing}: install the course first, from its folder: "
                     "pip install -r requirements.txt && pip install -e .") from None
import torch
import torch.nn.functional as F

from course.chapters.conv_kernels import (FLOAT32_TOLERANCE, FLOAT64_TOLERANCE, ConvGeometry, agreement_with_torch,
                                          cpu_backends, forward_error, gemm_tile, gpu_note, gradient_errors,
                                          im2col_blow_up, im2col_matrix, implicit_gemm_conv2d, input_address, measure,
                                          memory_footprint, passes_gradcheck, program_grid, relative_error,
                                          triton_forward_missing_last_tile)
from course.figures.conv_kernels import plot_benchmark, plot_index_map, plot_tiles_and_memory, plot_verification
from course.runtime.lesson import Lesson
from kernels import bench

lesson = Lesson.start("06_conv_kernels", fast=fast)
# A realistic layer: the first 3x3 convolution of a ResNet's 56x56 stage, batch 32.
REALISTIC_LAYER = ConvGeometry(N=32, C=64, H=56, W=56, K=64, R=3, S=3, stride=(1, 1), padding=(1, 1))


def seeded(seed, *shape, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# %% [markdown]
# ## Convolution is a matrix product in disguise
# Give every output pixel (n, p, q) a row m and every filter weight (c, r, s) a column t of a
# matrix X. Then conv2d is Y = X @ Wmat, one GEMM, where X[m, t] is the input element that tap
# (c, r, s) of pixel (n, p, q)'s window covers: row h = p·stride − pad + r·dilation, column
# w = q·stride − pad + s·dilation, or zero when that lands in the padding. A GPU kernel never
# stores X: it computes these addresses when it loads a tile, hence "implicit" GEMM.

# %%
g = ConvGeometry(N=1, C=2, H=5, W=5, K=3, R=3, S=3, stride=(1, 1), padding=(1, 1))
m, t = 5, 9 + 5  # pixel (n, p, q) = (0, 1, 0), at the left border; tap (c, r, s) = (1, 1, 2)
lesson.show(plot_index_map(g, m, t), "index_map")
n, c, h, w, inside = input_address(g, m, t)
x = seeded(lesson.seed, g.N, g.C, g.H, g.W)
print(f"    X[m={m}, t={t}] reads x[{n}, {c}, {h}, {w}] (inside the image: {bool(inside)})")
lesson.report("index_map_entry_error",
              abs(gemm_tile(x, g, torch.tensor([m]), torch.tensor([t])).item() - x[n, c, h, w].item()),
              "the gathered X[m, t] is the input element the map names", bound=0, kind="tool")
columns = F.unfold(x, (g.R, g.S), padding=g.padding)[0].T  # PyTorch's im2col: (P*Q, C*R*S)
lesson.report("index_map_vs_unfold", (im2col_matrix(x, g) - columns).abs().max().item(),
              "X built from the index map vs F.unfold (im2col), same (m, t) order", bound=0, kind="tool")

# %% [markdown]
# The same map with stride, dilation and padding pairs, a rectangular kernel and a bias, now
# computed the way a kernel does: 32 output pixels (rows of X) at a time, each block gathering
# only its own tile of X and multiplying it by the weight matrix. It must agree with F.conv2d.

# %%
cases = [((1, 2, 5, 5), (3, 2, 3, 3), 1, 1, 1), ((2, 3, 9, 8), (4, 3, 3, 2), (2, 1), (1, 0), (1, 2)),
         ((1, 4, 7, 10), (5, 4, 2, 4), 3, 2, 2), ((2, 2, 4, 4), (3, 2, 4, 4), 1, 0, 1)]
gemm_error = 0.0
for i, (x_shape, w_shape, stride, padding, dilation) in enumerate(cases):
    xs, ws, bs = seeded(lesson.seed + i, *x_shape), seeded(lesson.seed + 10 + i, *w_shape), seeded(i, w_shape[0])
    mine = implicit_gemm_conv2d(xs, ws, bs, stride, padding, dilation, block_m=32)
    gemm_error = max(gemm_error, relative_error(mine, F.conv2d(xs, ws, bs, stride, padding, dilation)))
lesson.report("implicit_gemm_vs_conv2d", gemm_error,
              "tile-by-tile implicit GEMM vs F.conv2d, 4 cases (stride, padding, dilation pairs; float64)",
              bound=FLOAT64_TOLERANCE, kind="tool")

# %% [markdown]
# ## Tiles, and why im2col costs memory
# im2col writes X out in full: every input element is copied once for each window that covers
# it, about R·S/stride² times. For a ResNet layer that turns 25 MiB of activations into over
# 200 MiB before a single multiplication. A tiled kernel instead gives each program one
# BLOCK_M × BLOCK_N tile of the output and walks the reduction BLOCK_K at a time: its working set
# is a few tens of KiB, small enough for registers and shared memory, and the grid of programs
# covers the output, the last tiles masked where they run past M or K.

# %%
footprint = memory_footprint(REALISTIC_LAYER, block_m=128, block_n=64, block_k=32)
small = ConvGeometry(N=2, C=8, H=9, W=9, K=40, R=3, S=3, padding=(1, 1))
lesson.show(plot_tiles_and_memory(small, 64, 16, footprint, "a 32x64x56x56 input, 64 3x3 filters"),
            "tiles_and_memory")
rows, columns_of_tiles = program_grid(REALISTIC_LAYER, 128, 64)
lesson.report("im2col_blow_up", im2col_blow_up(REALISTIC_LAYER),
              "im2col matrix / input size for the 56x56x64 ResNet layer (3x3, stride 1, pad 1)")
lesson.report("im2col_megabytes", footprint["im2col matrix"] / 2**20, "MiB of the im2col matrix (float32)")
lesson.report("tile_kilobytes", footprint["one program's tiles"] / 2**10,
              "KiB one 128x64 program holds (X tile, weight tile, accumulator; BLOCK_K = 32)")
lesson.report("programs", rows * columns_of_tiles,
              f"programs in the grid: {rows} row tiles x {columns_of_tiles} column tile")
x = seeded(lesson.seed, 2, 8, 16, 16)  # the blow-up formula against a real F.unfold
unfolded = F.unfold(x, (3, 3), padding=1).numel() / x.numel()
lesson.report("blow_up_formula_vs_unfold",
              abs(unfolded - im2col_blow_up(ConvGeometry.of(x.shape, (8, 8, 3, 3), 1, 1))),
              "F.unfold's size ratio on a 2x8x16x16 input vs the formula", bound=0, kind="tool")

# %% [markdown]
# ## How a kernel is verified
# A fast kernel that is wrong is worthless, so each backend is held to four checks, shown here
# on the Triton backend (on a CPU it runs in Triton's interpreter, so the case is tiny).
# **Reference**: F.conv2d in float64. **Tolerance**: stated in advance, relative to the largest
# output (1e-5 for float32: float32 sums drift by about 1e-7 per term). **gradcheck**: the
# backward pass against finite differences in float64. **Poison**: fill the output with NaN
# before the kernel runs; an element no program wrote then fails every comparison.

# %%
conv = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2))
x, w, b = seeded(lesson.seed, 2, 3, 7, 6), seeded(lesson.seed + 1, 4, 3, 3, 2), seeded(lesson.seed + 2, 4)
errors = {"forward float32": forward_error("triton", x.float(), w.float(), b.float(), **conv)}
gradients = gradient_errors("triton", x, w, b, **conv)
errors.update({f"d/d{name} float64": value for name, value in gradients.items()})
tolerances = {name: FLOAT32_TOLERANCE if "float32" in name else FLOAT64_TOLERANCE for name in errors}
tiny = (seeded(lesson.seed, 1, 2, 4, 4), seeded(lesson.seed + 1, 2, 2, 2, 2), seeded(lesson.seed + 2, 2))
gradcheck_ok = passes_gradcheck("triton", *tiny, fast_mode=lesson.fast, stride=1, padding=1)
image = seeded(lesson.seed, 1, 2, 8, 8, dtype=torch.float32)
image[:, :, 5:] = 0  # a dark band at the bottom: the true outputs of the last tile are all 0
weight = seeded(lesson.seed + 3, 3, 2, 3, 3, dtype=torch.float32)
expected = F.conv2d(image.double(), weight.double(), padding=1)
zero_start = triton_forward_missing_last_tile(image, weight, fill=0.0)
poison_start = triton_forward_missing_last_tile(image, weight, fill=float("nan"))
lesson.show(plot_verification(errors, tolerances, zero_start[0, 0], poison_start[0, 0]), "verification")
lesson.report("triton_forward_float32_error", errors["forward float32"],
              "Triton forward (float32) vs F.conv2d in float64, relative", bound=FLOAT32_TOLERANCE, kind="tool")
lesson.report("triton_gradient_float64_error", max(gradients.values()),
              "Triton input/weight/bias gradients vs torch autograd (float64), relative", bound=FLOAT64_TOLERANCE,
              kind="tool")
lesson.report("triton_gradcheck", int(gradcheck_ok),
              f"torch.autograd.gradcheck of the Triton backend (float64{', fast mode' if lesson.fast else ''})",
              at_least=1, kind="tool")
lesson.report("bug_error_without_poison", relative_error(zero_start, expected),
              "a launch one tile short, output started at 0: within tolerance, so the bug hides",
              bound=FLOAT32_TOLERANCE, kind="tool")
lesson.report("bug_unwritten_with_poison", int(poison_start.isnan().sum()),
              "the same bug with a NaN-poisoned output: unwritten outputs (16 pixels x 3 channels)", at_least=1,
              kind="tool")

# %% [markdown]
# ## This machine's numbers
# `python -m kernels.bench` times every available backend against F.conv2d on the same
# inputs, in the same run. It times in rounds: each round calls every backend in turn
# (torch, cpp, torch, cpp, …, starting with a different one each round), so a burst of load
# from another program falls on all of them alike. For each backend it keeps the **best**
# (fastest) round and, beside it, the **median** with its interquartile range: the best round
# is what the code can do when nothing else runs; the median is what a user met today. On
# this machine F.conv2d is sometimes bimodal (the same call fast in some rounds, several
# times slower in others); the table marks such rows, because a median then lands on either
# mode. GFLOP/s is 2·N·K·P·Q·C·R·S operations (twice that for the backward pass) divided by
# the best time, next to the float32 matmul ceiling measured in the same run. "× torch" is
# F.conv2d's best divided by the backend's best (the median ratio beside it), both from this
# run: above 1 the backend was faster than PyTorch here and now, a ratio that does
# not carry over to another machine or another load. Each backend gets one thread, because on
# a shared, busy machine the OpenMP threads of several programs wait on each other and the
# numbers collapse. A speed counts only if the backend also agrees with F.conv2d on that shape.
# **`--fast` does not time**: a tiny shape timed a few times on a loaded machine measures
# noise, so the quick run only checks agreement; the full run times the benchmark's shapes,
# building the C++ extension first if it is not built yet (about a minute).

# %%
backends, note = cpu_backends(allow_build=not lesson.fast)
shapes = bench.QUICK_SHAPES if lesson.fast else bench.SHAPES  # timed only in the full run
for backend in backends[1:]:
    lesson.report(f"{backend}_agrees_with_torch", max(agreement_with_torch(backend, shape) for shape in shapes),
                  f"{backend} (float32) vs F.conv2d in float64 on the {len(shapes)} benchmark shapes, "
                  "largest relative error",
                  bound=FLOAT32_TOLERANCE, kind="tool")
if note:
    print(f"    {note}")
if lesson.fast:
    print("    --fast: no timing (see above); `python -m kernels.bench` or the full lesson times the kernels")
else:
    bench_rows, machine = measure(shapes, backends, reps=5, threads=1)
    lesson.show(plot_benchmark(bench_rows, machine, gpu_note()), "benchmark")
    print(bench.format_table(bench_rows))
    lesson.record("benchmark_rows", [vars(row) for row in bench_rows])
    for backend in backends[1:]:
        mine = [row for row in bench_rows if row.backend == backend]
        lesson.report(f"{backend}_forward_speed_vs_torch", bench.geometric_mean(r.forward_ratio for r in mine),
                      f"{backend} forward speed / F.conv2d speed (best rounds, same run), geometric mean over "
                      f"{len(mine)} shapes")
        lesson.report(f"{backend}_backward_speed_vs_torch", bench.geometric_mean(r.backward_ratio for r in mine),
                      f"{backend} backward speed / F.conv2d speed (best rounds, same run), geometric mean")
    lesson.report("backends_timed", len(backends), f"backends timed: {', '.join(backends)}", at_least=1, kind="tool")
lesson.report("benchmark_timed", int(not lesson.fast), "1: this run timed the kernels; 0: --fast, no timing")
lesson.record("gpu_numbers", gpu_note())
print(f"    GPU numbers: {gpu_note()}")

# %% [markdown]
# ## What the sources claim, and what this lesson shows
# The lecture and the articles this course follows do not discuss how a convolution is
# implemented, so this lesson has no source claims to test: every check above is a tool check,
# true when the code is right (an implementation against PyTorch, a formula against a measured
# size), and the benchmark numbers are measurements without a claim attached.

# %% [markdown]
# ## References
# - K. Chellapilla, S. Puri, P. Simard (2006). High performance convolutional neural networks
#   for document processing. IWFHR 2006: convolution unrolled into a matrix product (im2col).
# - S. Chetlur, C. Woolley, P. Vandermersch, J. Cohen, J. Tran, B. Catanzaro, E. Shelhamer
#   (2014). cuDNN: efficient primitives for deep learning. arXiv:1410.0759: implicit GEMM,
#   tiles of the unrolled matrix built on the fly.
# - P. Tillet, H. T. Kung, D. Cox (2019). Triton: an intermediate language and compiler for
#   tiled neural network computations. MAPL 2019.
# - A. Lavin, S. Gray (2016). Fast algorithms for convolutional neural networks. CVPR 2016:
#   Winograd convolution, the other route to speed.

# %%
summary = lesson.finish()
