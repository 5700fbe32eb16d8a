# %% [markdown]
# # 04 · Convolution and cross-correlation
# A kernel slid along a signal or over an image, in both reading orders (convolution and
# cross-correlation); the same thing written as a matrix; what stride, padding and dilation
# do to the windows and the output size, including the cells a stride never reads; and how
# a whole conv2d layer becomes one matrix multiply (im2col).

# %% tags=["parameters"]
fast = False  # True: a smaller image and fewer random cases, a few seconds (what `--fast` and CI use)

# %%
try:  # before `pip install -e .` the course cannot be imported: say so in one line, not a traceback
    import course  # noqa: F401
except ModuleNotFoundError as missing:
    raise SystemExit(f"{missing}: install the course first, from its folder: "
                     "pip install -r requirements.txt && pip install -e .") from None
import math

import torch
import torch.nn.functional as F

from course.chapters.convolution import (circulant_matrix, conv_output_size, convolve1d, correlation_matrix,
                                         cross_correlate1d, cross_correlate2d, never_read, unfold2d)
from course.data.toy_signals import piecewise_signal, shapes_image
from course.figures.convolution import (plot_conv_as_matrix, plot_convolution_vs_correlation, plot_edge_filters,
                                        plot_im2col, plot_never_read, plot_sliding_window,
                                        plot_stride_padding_dilation)
from course.runtime.lesson import Lesson

lesson = Lesson.start("04_convolution", fast=fast)
LECTURE = ("NYU lecture 'Visualization of neural networks, parameter transformation and fundamental concepts "
           "of convolution'")


def max_error(a, b):
    """Largest absolute difference between two tensors, as a float."""
    return (a - b).abs().max().item()


def torch_conv1d(x, w, stride=1, padding=0, dilation=1):
    """PyTorch's conv1d on one signal (L,) with one kernel (k,): the reference we compare to."""
    return F.conv1d(x[None, None], w[None, None], stride=stride, padding=padding, dilation=dilation)[0, 0]


# %% [markdown]
# ## A window slides along the signal
# Take a short kernel w of k weights. Put it over the first k entries of the signal x,
# multiply entry by entry and add up: that is output y[0]. Move the window one step right
# and do it again, until the window reaches the end. Every output uses the *same* weights,
# so a kernel is a detector for one local pattern, tested at every position.

# %%
x = piecewise_signal(40, lesson.seed)
w = torch.tensor([1.0, 0.6, 0.3, -0.4], dtype=torch.float64)
y = cross_correlate1d(x, w)
positions = (3, 15, 30)
by_hand = torch.stack([(w * x[i : i + len(w)]).sum() for i in positions])
lesson.show(plot_sliding_window(x, w, y, positions), "sliding_window")
lesson.report("sliding_window_outputs", len(y), "outputs of a 4-tap kernel on 40 samples: 40 - 4 + 1 windows")
lesson.report("window_dot_product_error", max_error(y[list(positions)], by_hand),
              "each output is the dot product of w with its window", bound=1e-12, kind="tool")

# %% [markdown]
# ## Convolution or cross-correlation: which way round is the kernel read?
# The mathematical convolution is y[i] = Σ_j w[j]·x[i−j]: the kernel is read backwards
# against the signal. Deep-learning libraries, PyTorch included, compute
# y[i] = Σ_j w[j]·x[i+j] instead, which mathematicians call cross-correlation, and still
# call it "conv". For a learned kernel the difference is only a convention (learning would
# simply store the weights in the other order), but for a given asymmetric kernel the
# two outputs differ, and formulas from signal-processing texts assume the flipped one.

# %%
x = piecewise_signal(60, lesson.seed)
w = torch.tensor([-1.0, -1.0, -1.0, 2.0, 1.0], dtype=torch.float64)  # an "upward step" detector
settings = ((1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 0, 2))  # (stride, padding, dilation)
correlation_error = max(max_error(cross_correlate1d(x, w, *spd), torch_conv1d(x, w, *spd)) for spd in settings)
convolution_error = max(max_error(convolve1d(x, w, *spd), torch_conv1d(x, w.flip(0), *spd)) for spd in settings)
y_correlation, y_convolution = cross_correlate1d(x, w), convolve1d(x, w)
lesson.show(plot_convolution_vs_correlation(x, w, y_correlation, y_convolution, cross_correlate1d(x, w.flip(0))),
            "convolution_vs_correlation")
lesson.report("cross_correlation_vs_torch", correlation_error,
              "cross_correlate1d vs F.conv1d (float64, 4 stride/padding/dilation settings)", bound=1e-10, kind="tool")
lesson.report("convolution_vs_torch_flipped", convolution_error,
              "convolve1d(x, w) vs F.conv1d(x, flip(w))", bound=1e-10, kind="tool")
lesson.report("convolution_minus_correlation", max_error(y_convolution, y_correlation),
              "max |conv - xcorr| with the same unflipped kernel: they really differ", at_least=0.5, kind="tool")

# %% [markdown]
# ## A convolution is a matrix with k numbers in it
# The outputs are linear in the signal, so y = M x for some matrix M: row i holds the kernel
# from column i on, and zeros elsewhere. Every row is the row above shifted one place (a
# banded *Toeplitz* matrix), and its many entries are made of only k numbers: weight
# sharing, in lesson 02's sense, with H copying the kernel along the diagonals. Wrap the
# signal into a ring, so that the last windows run past the end onto the first samples, and
# M becomes square and *circulant*: that is lesson 02's 4×4 layer, whose rows were shifted
# copies of 4 parameters. We build both matrices from the kernel and compare them with our
# cross_correlate1d, with PyTorch's circular padding, and with lesson 02's tied layer.

# %%
line = correlation_matrix(w, len(x))
ring = circulant_matrix(w, len(x))
matrix_error = max(max_error(correlation_matrix(w, len(x), *spd) @ x, cross_correlate1d(x, w, *spd))
                   for spd in settings)
on_a_ring = F.conv1d(F.pad(x[None, None], (0, len(w) - 1), mode="circular"), w[None, None])[0, 0]
generator = torch.Generator().manual_seed(lesson.seed)
u = torch.randn(4, generator=generator, dtype=torch.float64)  # 4 parameters, as in lesson 02
inputs = torch.randn(32, 4, generator=generator, dtype=torch.float64)
position = torch.arange(4)
tied_layer = u[(position[None, :] - position[:, None]) % 4]  # lesson 02's tied layer: W[r, c] = u[(c - r) mod 4]
tied_as_conv = F.conv1d(F.pad(inputs[:, None], (0, 3), mode="circular"), u[None, None])[:, 0]
small = torch.tensor([1.0, 2.0, -1.0], dtype=torch.float64)
taps = torch.arange(len(small), dtype=torch.float64) + 1  # entry = tap + 1, so zeros mark "no tap"
lesson.show(plot_conv_as_matrix(small, (correlation_matrix(taps, 10) - 1).long(), (circulant_matrix(taps, 8) - 1).long()),
            "conv_as_matrix")
lesson.report("toeplitz_shape", list(line.shape), "M for a 5-tap kernel on 60 samples: 56 x 60")
lesson.report("toeplitz_nonzero_fraction", (line != 0).double().mean().item(),
              "fraction of M's entries that hold a weight: k / n")
lesson.report("toeplitz_vs_cross_correlate1d", matrix_error,
              "M x vs cross_correlate1d(x, w), 4 stride/padding/dilation settings", bound=1e-10, kind="tool")
lesson.report("circulant_vs_circular_conv1d", max_error(ring @ x, on_a_ring),
              "C x vs F.conv1d on the signal padded circularly (a ring)", bound=1e-10, kind="tool")
lesson.report("lesson02_layer_is_circulant", max_error(tied_layer, circulant_matrix(u, 4)),
              "lesson 02's tied 4x4 layer == the circulant matrix of its 4 parameters", bound=0, kind="tool")
lesson.report("lesson02_layer_is_circular_conv", max_error(inputs @ tied_layer.T, tied_as_conv),
              "lesson 02's layer on 32 inputs == circular cross-correlation with u", bound=1e-12, kind="tool")

# %% [markdown]
# ## In two dimensions: edge detectors
# On an image the window is a small patch: y[i, j] = Σ_{r,s} w[r, s]·x[i+r, j+s]. A kernel
# that is negative on its left column and positive on its right answers strongly where
# brightness rises from left to right (a vertical edge) and gives about zero on flat areas
# and on horizontal edges. One zero pixel of padding on each side keeps the output the
# same size as the image. Red is a positive response, blue a negative one.

# %%
image, (r0, r1, c0, c1) = shapes_image(48 if lesson.fast else 96, lesson.seed)
vertical = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=torch.float64)
centre_surround = -torch.ones(3, 3, dtype=torch.float64)
centre_surround[1, 1] = 8.0  # the centre against its eight neighbours: zero on flat areas
diagonal = torch.tensor([[-2.0, -1.0, 0.0], [-1.0, 0.0, 1.0], [0.0, 1.0, 2.0]], dtype=torch.float64)
kernels = {"vertical edge": vertical, "horizontal edge": vertical.T,
           "centre-surround": centre_surround, "diagonal edge": diagonal}
weight = torch.stack(list(kernels.values()))[:, None]  # (4, 1, 3, 3): four output channels
response = cross_correlate2d(image[None, None], weight, padding=1)[0]  # (4, H, W)
lesson.show(plot_edge_filters(image, kernels, dict(zip(kernels, response))), "edge_filters")
strength = response[0].abs()  # the vertical-edge kernel's answer
on_vertical_sides = strength[r0 + 2 : r1 - 2, [c0 - 1, c0, c1 - 1, c1]].mean()
on_horizontal_sides = strength[[r0 - 1, r0, r1 - 1, r1], c0 + 2 : c1 - 2].mean()
lesson.report("cross_correlate2d_vs_torch", max_error(response, F.conv2d(image[None, None], weight, padding=1)[0]),
              "cross_correlate2d vs F.conv2d on the image (float64)", bound=1e-10, kind="tool")
lesson.report("vertical_edge_side_ratio", (on_vertical_sides / on_horizontal_sides).item(),
              "hand-made vertical-edge kernel: response on the square's left/right sides over its top/bottom sides",
              at_least=10, kind="tool")

# %% [markdown]
# ## Stride, padding and dilation change which cells a window reads
# **Stride** s moves the window s cells at a time, so the output is about s times shorter.
# **Padding** p adds p cells of zeros around the input; with an odd kernel k and
# p = k // 2 the output keeps the input's size ("same" padding), at the price of border
# outputs that partly see made-up zeros. **Dilation** d spreads the k taps d cells apart,
# so a 3-tap kernel with d = 2 covers 5 cells: a wider view for the same number of weights.

# %%
cases = [dict(label="plain", n=5, k=3, stride=1, padding=0, dilation=1),
         dict(label="stride 2", n=7, k=3, stride=2, padding=0, dilation=1),
         dict(label="'same' padding", n=5, k=3, stride=1, padding=1, dilation=1),
         dict(label="dilation 2", n=7, k=3, stride=1, padding=0, dilation=2)]
lesson.show(plot_stride_padding_dilation(cases), "stride_padding_dilation")
for case in cases:
    size = conv_output_size(case["n"], case["k"], case["stride"], case["padding"], case["dilation"])
    print(f"    {case['label']:>15}: {case['n']}x{case['n']} input -> {size}x{size} output")
lesson.report("dilated_span", cases[3]["dilation"] * (cases[3]["k"] - 1) + 1,
              "input cells a 3-tap kernel with dilation 2 covers")

# %% [markdown]
# ## How long is the output?
# Counting window positions gives one formula for every case:
# out = ⌊(n + 2p − d(k−1) − 1) / s⌋ + 1. For n = 100 and k = 5 that is 96 with stride 1 and
# 48 with stride 2. Below, the formula is compared with the length PyTorch's conv1d
# actually returns, including padding and dilation cases (and one where "same" padding
# fails: an even kernel).

# %%
size_settings = [  # (n, k, stride, padding, dilation, note)
    (100, 5, 1, 0, 1, "no padding"), (100, 5, 2, 0, 1, "stride 2"), (100, 5, 3, 0, 1, "stride 3"),
    (100, 5, 1, 2, 1, "'same': p = k // 2"), (100, 3, 1, 1, 1, "'same': p = k // 2"),
    (100, 4, 1, 2, 1, "even k: 'same' overshoots"), (100, 5, 2, 2, 1, "padding 2, stride 2"),
    (100, 3, 1, 0, 2, "dilation 2 (span 5)"), (100, 3, 1, 2, 2, "dilation 2, 'same'"),
    (100, 5, 2, 0, 3, "dilation 3, stride 2"), (7, 3, 2, 1, 1, "small, padded, strided"),
    (10, 10, 1, 0, 1, "kernel = input"),
]
rows = []
print(f"    {'n':>4} {'k':>3} {'s':>3} {'p':>3} {'d':>3} {'formula':>8} {'measured':>9}  note")
for n, k, s, p, d, note in size_settings:
    measured = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[-1]
    formula = conv_output_size(n, k, s, p, d)
    rows.append(dict(n=n, k=k, stride=s, padding=p, dilation=d, formula=formula, measured=measured, note=note))
    print(f"    {n:>4} {k:>3} {s:>3} {p:>3} {d:>3} {formula:>8} {measured:>9}  {note}")
lesson.record("output_size_table", rows)
lesson.report("output_size_mismatches", sum(row["formula"] != row["measured"] for row in rows),
              "table rows where the formula disagrees with F.conv1d", bound=0, kind="tool")
lesson.report("stride1_n100_k5", rows[0]["measured"], "n = 100, k = 5, stride 1 (the lecture: 96)", bound=96,
              at_least=96)
lesson.report("stride2_n100_k5", rows[1]["measured"], "n = 100, k = 5, stride 2 (the lecture: 48)", bound=48,
              at_least=48)
lesson.report("same_padding_n100_k5", rows[3]["measured"], "n = 100, k = 5, padding 2: the length is kept",
              bound=100, at_least=100)

# %% [markdown]
# ## When the stride does not divide evenly
# The lecture counts the outputs as (n − (k − 1)) / s. That is a whole number only when s
# divides n − k + 1; otherwise it is a fraction (n = 100, k = 5, s = 5 gives 19.2), and
# rounding it down, the usual reflex, loses a window. Windows start at 0, s, 2s, … for as
# long as a whole window fits, so the count is ⌊(n − k)/s⌋ + 1: the lecture's value rounded
# *up*. The cells after the last window, (n − k) mod s of them, are never read, even when the
# lecture's division is exact (then s − 1 cells are left over). Below: lengths 90 to 110
# against F.conv1d, then an 11×12 image under a 3×3 kernel with stride 2, where autograd
# counts how many windows read each pixel and a change to the unread column changes nothing.

# %%
k_1d, s_1d = 5, 3
lengths = list(range(90, 111))
measured_lengths = [F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k_1d), stride=s_1d).shape[-1] for n in lengths]
lecture_lengths = [(n - (k_1d - 1)) / s_1d for n in lengths]
picture = torch.randn(1, 1, 11, 12, generator=torch.Generator().manual_seed(lesson.seed), dtype=torch.float64)
picture.requires_grad_(True)
F.conv2d(picture, torch.ones(1, 1, 3, 3, dtype=torch.float64), stride=2).sum().backward()
read_counts = picture.grad[0, 0].round().long()  # d(sum of outputs)/d(pixel) with all-ones weights
unread_rows = [i for i in range(11) if (read_counts[i] == 0).all()]
unread_cols = [j for j in range(12) if (read_counts[:, j] == 0).all()]
kernel = torch.randn(2, 1, 3, 3, generator=torch.Generator().manual_seed(lesson.seed + 1), dtype=torch.float64)
changed = picture.detach().clone()
changed[..., unread_rows, :] += 100.0
changed[..., :, unread_cols] += 100.0
outputs = F.conv2d(picture.detach(), kernel, stride=2)
lesson.show(plot_never_read(read_counts, 3, 2, lengths, measured_lengths, lecture_lengths, k_1d, s_1d), "never_read")
lesson.report("lecture_formula_inexact", sum(v != int(v) for v in lecture_lengths),
              f"of the {len(lengths)} lengths n = 90..110 (k = 5, s = 3), those where (n - (k-1)) / s is a fraction")
lesson.report("lecture_formula_floor_errors", sum(math.floor(v) != m for v, m in zip(lecture_lengths, measured_lengths)),
              "lengths where the lecture's value rounded down is not F.conv1d's length")
lesson.report("lecture_formula_ceil_errors", sum(math.ceil(v) != m for v, m in zip(lecture_lengths, measured_lengths)),
              "lengths where the lecture's value rounded up is not F.conv1d's length", bound=0, kind="tool")
lesson.report("lecture_n100_k5_s5", (100 - 4) / 5, "the lecture's formula for n = 100, k = 5, stride 5")
lesson.report("measured_n100_k5_s5", F.conv1d(torch.zeros(1, 1, 100), torch.zeros(1, 1, 5), stride=5).shape[-1],
              "F.conv1d's length for the same: windows at 0, 5, ..., 95", bound=20, at_least=20)
lesson.report("conv2d_stride2_shape", list(outputs.shape[-2:]), "F.conv2d on 11x12, 3x3 kernel, stride 2")
floor_formula = (conv_output_size(11, 3, 2), conv_output_size(12, 3, 2))
lesson.report("conv2d_shape_vs_formula", max(abs(a - b) for a, b in zip(outputs.shape[-2:], floor_formula)),
              "|F.conv2d's size - the floor formula|, rows and columns", bound=0, kind="tool")
lesson.report("unread_rows", unread_rows, "rows of the 11x12 image no window reads (11 - 3 is even: none)")
lesson.report("unread_cols", unread_cols, "columns no window reads ((12 - 3) mod 2 = 1: the last one)")
lesson.report("never_read_prediction_mismatches",
              int(unread_rows != never_read(11, 3, 2)) + int(unread_cols != never_read(12, 3, 2)),
              "axes where autograd's unread cells differ from the index arithmetic's", bound=0, kind="tool")
lesson.report("unread_cells_change_nothing", max_error(F.conv2d(changed, kernel, stride=2), outputs),
              "F.conv2d's output after adding 100 to every unread pixel: unchanged", bound=0, kind="tool")

# %% [markdown]
# ## im2col: a conv layer is one matrix multiply
# Copy every window of the input into one column of a matrix (channel by channel, tap by
# tap): that is "im2col", and PyTorch calls it `unfold`. Flatten each output channel's
# weights into a row. Then one matrix product of weights and columns computes every output
# at every position. It costs memory (each input entry is copied up to k·k times), but
# matrix multiplication is what hardware does fastest.

# %%
x = torch.arange(1.0, 33.0, dtype=torch.float64).reshape(1, 2, 4, 4)
w = torch.randint(-1, 2, (2, 2, 2, 2), generator=torch.Generator().manual_seed(lesson.seed)).double()
columns, y = unfold2d(x, 2), cross_correlate2d(x, w)
lesson.show(plot_im2col(x[0], w, columns[0], y[0].reshape(2, -1), (2, 2)), "im2col")
im2col_cases = [  # (input shape, kernel, stride, padding, dilation, bias)
    ((1, 1, 5, 5), (3, 3), 1, 0, 1, False), ((2, 3, 8, 11), (3, 2), 2, 1, 1, True),
    ((1, 2, 9, 7), (3, 3), (2, 1), (0, 2), (2, 1), True), ((3, 4, 6, 6), (1, 1), 1, 0, 1, True),
    ((1, 1, 4, 4), (4, 4), 1, 0, 1, False), ((2, 2, 10, 13), (2, 3), 3, (1, 0), 2, True),
]
generator = torch.Generator().manual_seed(lesson.seed)
unfold_error, conv_error = 0.0, 0.0
for _ in range(2 if lesson.fast else 10):
    for shape, k, s, p, d, with_bias in im2col_cases:
        xs = torch.randn(shape, generator=generator, dtype=torch.float64)
        ws = torch.randn((3, shape[1], *k), generator=generator, dtype=torch.float64)
        bs = torch.randn(3, generator=generator, dtype=torch.float64) if with_bias else None
        unfold_error = max(unfold_error, max_error(unfold2d(xs, k, s, p, d), F.unfold(xs, k, d, p, s)))
        conv_error = max(conv_error, max_error(cross_correlate2d(xs, ws, bs, s, p, d), F.conv2d(xs, ws, bs, s, p, d)))
lesson.report("im2col_columns_shape", list(columns.shape),
              "(N, C·kh·kw, output positions) for the 2x4x4 input and a 2x2 kernel")
lesson.report("unfold2d_vs_torch", unfold_error,
              "unfold2d vs F.unfold over seeded random cases (float64)", bound=1e-10, kind="tool")
lesson.report("im2col_conv_vs_torch", conv_error,
              "cross_correlate2d (im2col + matmul) vs F.conv2d: stride, padding, dilation, bias, pairs", bound=1e-10,
              kind="tool")

# %% [markdown]
# ## What the lecture claims, and what this lesson shows
# Each claim of the source text that this lesson tests, with the summary numbers behind its
# status. Definitions are checked against PyTorch to rounding error; the lecture's
# output-size formula is right for its own examples but not in general.

# %%
lesson.claim("convolution_vs_cross_correlation", source=f"{LECTURE}, §Discrete convolution, §Cross-correlation",
             claim="convolution reads the kernel backwards (y_i = Σ_j w_j x_{i−j}); deep-learning libraries compute "
                   "the cross-correlation y_i = Σ_j w_j x_{i+j}; the two differ only in the order the weights are read",
             status="reproduced",
             evidence=["cross_correlation_vs_torch", "convolution_vs_torch_flipped", "convolution_minus_correlation"])
lesson.claim("conv2d_definition", source=f"{LECTURE}, §Higher dimensional convolution",
             claim="in 2-D the output is y_ij = Σ_kl w_kl x_{i+k, j+l}", status="reproduced",
             evidence=["cross_correlate2d_vs_torch", "im2col_conv_vs_torch"])
lesson.claim("stride_output_size", source=f"{LECTURE}, §Regular twists (striding)",
             claim="with n = 100 and k = 5 the output has (n − (k − 1)) / s entries: 96 for stride 1, 48 for stride 2",
             status="partial",
             evidence=["stride1_n100_k5", "stride2_n100_k5", "lecture_formula_floor_errors", "measured_n100_k5_s5"],
             note="right for the two examples; when s does not divide n − k + 1 the formula gives a fraction, and "
                  "the count is ⌊(n − k)/s⌋ + 1, the fraction rounded up")
lesson.claim("same_padding", source=f"{LECTURE}, §Regular twists (padding)",
             claim="padding both ends with zeros can keep the output as long as the input", status="reproduced",
             evidence=["same_padding_n100_k5", "output_size_table"],
             note="with p = k // 2 for an odd kernel; an even kernel cannot be padded symmetrically to the same length")

# %% [markdown]
# ## References
# - NYU Deep Learning (LeCun, Canziani), lecture "Visualization of neural networks, parameter
#   transformation and fundamental concepts of convolution": §Discrete convolution,
#   §Cross-correlation, §Higher dimensional convolution, §Regular twists (striding, padding).
# - V. Dumoulin, F. Visin (2016). A guide to convolution arithmetic for deep learning.
#   arXiv:1603.07285: output sizes for every combination of stride, padding and dilation.
# - F. Yu, V. Koltun (2016). Multi-scale context aggregation by dilated convolutions. ICLR 2016.
# - K. Chellapilla, S. Puri, P. Simard (2006). High performance convolutional neural networks
#   for document processing. IWFHR 2006: convolution layers unrolled into matrix products.
# - R. M. Gray (2006). Toeplitz and circulant matrices: a review. Foundations and Trends in
#   Communications and Information Theory 2(3).

# %%
summary = lesson.finish()
