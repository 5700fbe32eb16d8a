"""Convolution and cross-correlation
A kernel slid along a signal or over an image, in both reading orders (convolution and
cross-correlation); what stride, padding and dilation do to the windows and the output
size; and how a whole conv2d layer becomes one matrix multiply (im2col).
"""

# %%
import torch
import torch.nn.functional as F

from course.chapters.convolution import conv_output_size, convolve1d, cross_correlate1d, cross_correlate2d, unfold2d
from course.data.toy_signals import piecewise_signal, shapes_image
from course.figures.convolution import (plot_convolution_vs_correlation, plot_edge_filters, plot_im2col,
                                        plot_sliding_window, plot_stride_padding_dilation)
from course.runtime.lesson import Lesson


def max_error(a, b):
    """Largest absolute difference between two tensors, as a float."""
    return (a - b).abs().max().item()


def torch_conv1d(x, w, stride, padding, dilation):
    """PyTorch's conv1d on one signal (L,) with one kernel (k,): the reference we compare to."""
    return F.conv1d(x[None, None], w[None, None], stride=stride, padding=padding, dilation=dilation)[0, 0]


# %% [markdown]
# ## A window slides along the signal
# Take a short kernel w of k weights. Put it over the first k entries of the signal x,
# multiply entry by entry and add up: that is output y[0]. Move the window one step right
# and do it again, until the window reaches the end. Every output uses the *same* weights,
# so a kernel is a detector for one local pattern, tested at every position.

# %%
def sliding_window(lesson):
    x = piecewise_signal(40, lesson.seed)
    w = torch.tensor([1.0, 0.6, 0.3, -0.4], dtype=torch.float64)
    y = cross_correlate1d(x, w)
    positions = (3, 15, 30)
    by_hand = torch.stack([(w * x[i : i + len(w)]).sum() for i in positions])
    lesson.save(plot_sliding_window(x, w, y, positions), "sliding_window")
    lesson.report("sliding_window_outputs", len(y), "outputs of a 4-tap kernel on 40 samples: 40 - 4 + 1 windows")
    lesson.report("window_dot_product_error", max_error(y[list(positions)], by_hand),
                  "each output is the dot product of w with its window", bound=1e-12)


# %% [markdown]
# ## Convolution or cross-correlation: which way round is the kernel read?
# The mathematical convolution is y[i] = Σ_j w[j]·x[i−j]: the kernel is read backwards
# against the signal. Deep-learning libraries, PyTorch included, compute
# y[i] = Σ_j w[j]·x[i+j] instead, which mathematicians call cross-correlation, and still
# call it "conv". For a learned kernel the difference is only a convention (learning would
# simply store the weights in the other order), but for a given asymmetric kernel the
# two outputs differ, and formulas from signal-processing texts assume the flipped one.

# %%
def convolution_vs_correlation(lesson):
    x = piecewise_signal(60, lesson.seed)
    w = torch.tensor([-1.0, -1.0, -1.0, 2.0, 1.0], dtype=torch.float64)  # an "upward step" detector
    settings = ((1, 0, 1), (2, 1, 1), (1, 2, 2), (3, 0, 2))  # (stride, padding, dilation)
    correlation_error = max(max_error(cross_correlate1d(x, w, *spd), torch_conv1d(x, w, *spd)) for spd in settings)
    convolution_error = max(max_error(convolve1d(x, w, *spd), torch_conv1d(x, w.flip(0), *spd)) for spd in settings)
    y_correlation, y_convolution = cross_correlate1d(x, w), convolve1d(x, w)
    fig = plot_convolution_vs_correlation(x, w, y_correlation, y_convolution, cross_correlate1d(x, w.flip(0)))
    lesson.save(fig, "convolution_vs_correlation")
    lesson.report("cross_correlation_vs_torch", correlation_error,
                  "cross_correlate1d vs F.conv1d (float64, 4 stride/padding/dilation settings)", bound=1e-10)
    lesson.report("convolution_vs_torch_flipped", convolution_error,
                  "convolve1d(x, w) vs F.conv1d(x, flip(w))", bound=1e-10)
    lesson.report("convolution_minus_correlation", max_error(y_convolution, y_correlation),
                  "max |conv - xcorr| with the same unflipped kernel: they really differ", at_least=0.5)


# %% [markdown]
# ## In two dimensions: edge detectors
# On an image the window is a small patch: y[i, j] = Σ_{r,s} w[r, s]·x[i+r, j+s]. A kernel
# that is negative on its left column and positive on its right answers strongly where
# brightness rises from left to right (a vertical edge) and gives about zero on flat areas
# and on horizontal edges. One zero pixel of padding on each side keeps the output the
# same size as the image. Red is a positive response, blue a negative one.

# %%
def edge_filters(lesson):
    image, (r0, r1, c0, c1) = shapes_image(48 if lesson.fast else 96, lesson.seed)
    vertical = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=torch.float64)
    centre_surround = -torch.ones(3, 3, dtype=torch.float64)
    centre_surround[1, 1] = 8.0  # the centre against its eight neighbours: zero on flat areas
    diagonal = torch.tensor([[-2.0, -1.0, 0.0], [-1.0, 0.0, 1.0], [0.0, 1.0, 2.0]], dtype=torch.float64)
    kernels = {"vertical edge": vertical, "horizontal edge": vertical.T,
               "centre-surround": centre_surround, "diagonal edge": diagonal}
    weight = torch.stack(list(kernels.values()))[:, None]  # (4, 1, 3, 3): four output channels
    response = cross_correlate2d(image[None, None], weight, padding=1)[0]  # (4, H, W)
    error = max_error(response, F.conv2d(image[None, None], weight, padding=1)[0])
    lesson.save(plot_edge_filters(image, kernels, dict(zip(kernels, response))), "edge_filters")
    strength = response[0].abs()  # the vertical-edge kernel's answer
    on_vertical_sides = strength[r0 + 2 : r1 - 2, [c0 - 1, c0, c1 - 1, c1]].mean()
    on_horizontal_sides = strength[[r0 - 1, r0, r1 - 1, r1], c0 + 2 : c1 - 2].mean()
    lesson.report("cross_correlate2d_vs_torch", error,
                  "cross_correlate2d vs F.conv2d on the image (float64)", bound=1e-10)
    lesson.report("vertical_edge_side_ratio", (on_vertical_sides / on_horizontal_sides).item(),
                  "vertical-edge response on the square's left/right sides over its top/bottom sides", at_least=10)


# %% [markdown]
# ## Stride, padding and dilation change which cells a window reads
# **Stride** s moves the window s cells at a time, so the output is about s times shorter.
# **Padding** p adds p cells of zeros around the input; with an odd kernel k and
# p = k // 2 the output keeps the input's size ("same" padding), at the price of border
# outputs that partly see made-up zeros. **Dilation** d spreads the k taps d cells apart,
# so a 3-tap kernel with d = 2 covers 5 cells: a wider view for the same number of weights.

# %%
def stride_padding_dilation(lesson):
    cases = [dict(label="plain", n=5, k=3, stride=1, padding=0, dilation=1),
             dict(label="stride 2", n=7, k=3, stride=2, padding=0, dilation=1),
             dict(label="'same' padding", n=5, k=3, stride=1, padding=1, dilation=1),
             dict(label="dilation 2", n=7, k=3, stride=1, padding=0, dilation=2)]
    lesson.save(plot_stride_padding_dilation(cases), "stride_padding_dilation")
    for case in cases:
        size = conv_output_size(case["n"], case["k"], case["stride"], case["padding"], case["dilation"])
        print(f"    {case['label']:>15}: {case['n']}x{case['n']} input -> {size}x{size} output")
    dilated = cases[3]
    lesson.report("dilated_span", dilated["dilation"] * (dilated["k"] - 1) + 1,
                  "input cells a 3-tap kernel with dilation 2 covers")


# %% [markdown]
# ## How long is the output?
# Counting window positions gives one formula for every case:
# out = ⌊(n + 2p − d(k−1) − 1) / s⌋ + 1. For n = 100 and k = 5 that is 96 with stride 1 and
# 48 with stride 2. Below, the formula is compared with the length PyTorch's conv1d
# actually returns, including padding and dilation cases (and one where "same" padding
# fails: an even kernel).

# %%
def output_size_table(lesson):
    settings = [  # (n, k, stride, padding, dilation, note)
        (100, 5, 1, 0, 1, "no padding"), (100, 5, 2, 0, 1, "stride 2"), (100, 5, 3, 0, 1, "stride 3"),
        (100, 5, 1, 2, 1, "'same': p = k // 2"), (100, 3, 1, 1, 1, "'same': p = k // 2"),
        (100, 4, 1, 2, 1, "even k: 'same' overshoots"), (100, 5, 2, 2, 1, "padding 2, stride 2"),
        (100, 3, 1, 0, 2, "dilation 2 (span 5)"), (100, 3, 1, 2, 2, "dilation 2, 'same'"),
        (100, 5, 2, 0, 3, "dilation 3, stride 2"), (7, 3, 2, 1, 1, "small, padded, strided"),
        (10, 10, 1, 0, 1, "kernel = input"),
    ]
    rows = []
    print(f"    {'n':>4} {'k':>3} {'s':>3} {'p':>3} {'d':>3} {'formula':>8} {'measured':>9}  note")
    for n, k, s, p, d, note in settings:
        measured = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d).shape[-1]
        formula = conv_output_size(n, k, s, p, d)
        rows.append(dict(n=n, k=k, stride=s, padding=p, dilation=d, formula=formula, measured=measured, note=note))
        print(f"    {n:>4} {k:>3} {s:>3} {p:>3} {d:>3} {formula:>8} {measured:>9}  {note}")
    lesson.record("output_size_table", rows)
    lesson.report("output_size_mismatches", sum(row["formula"] != row["measured"] for row in rows),
                  "table rows where the formula disagrees with F.conv1d", bound=0)
    lesson.report("stride1_n100_k5", rows[0]["measured"], "n = 100, k = 5, stride 1", bound=96, at_least=96)
    lesson.report("stride2_n100_k5", rows[1]["measured"], "n = 100, k = 5, stride 2", bound=48, at_least=48)


# %% [markdown]
# ## im2col: a conv layer is one matrix multiply
# Copy every window of the input into one column of a matrix (channel by channel, tap by
# tap): that is "im2col", and PyTorch calls it `unfold`. Flatten each output channel's
# weights into a row. Then one matrix product of weights and columns computes every output
# at every position. It costs memory (each input entry is copied up to k·k times), but
# matrix multiplication is what hardware does fastest.

# %%
def im2col(lesson):
    x = torch.arange(1.0, 33.0, dtype=torch.float64).reshape(1, 2, 4, 4)
    w = torch.randint(-1, 2, (2, 2, 2, 2), generator=torch.Generator().manual_seed(lesson.seed)).double()
    columns, y = unfold2d(x, 2), cross_correlate2d(x, w)
    lesson.save(plot_im2col(x[0], w, columns[0], y[0].reshape(2, -1), (2, 2)), "im2col")
    cases = [  # (input shape, kernel, stride, padding, dilation, bias)
        ((1, 1, 5, 5), (3, 3), 1, 0, 1, False), ((2, 3, 8, 11), (3, 2), 2, 1, 1, True),
        ((1, 2, 9, 7), (3, 3), (2, 1), (0, 2), (2, 1), True), ((3, 4, 6, 6), (1, 1), 1, 0, 1, True),
        ((1, 1, 4, 4), (4, 4), 1, 0, 1, False), ((2, 2, 10, 13), (2, 3), 3, (1, 0), 2, True),
    ]
    generator = torch.Generator().manual_seed(lesson.seed)
    unfold_error, conv_error = 0.0, 0.0
    for _ in range(2 if lesson.fast else 10):
        for shape, k, s, p, d, with_bias in cases:
            x = torch.randn(shape, generator=generator, dtype=torch.float64)
            w = torch.randn((3, shape[1], *k), generator=generator, dtype=torch.float64)
            b = torch.randn(3, generator=generator, dtype=torch.float64) if with_bias else None
            reference = F.unfold(x, k, dilation=d, padding=p, stride=s)
            unfold_error = max(unfold_error, max_error(unfold2d(x, k, s, p, d), reference))
            reference = F.conv2d(x, w, b, stride=s, padding=p, dilation=d)
            conv_error = max(conv_error, max_error(cross_correlate2d(x, w, b, s, p, d), reference))
    lesson.report("im2col_columns_shape", list(columns.shape),
                  "(N, C·kh·kw, output positions) for the 2x4x4 input and a 2x2 kernel")
    lesson.report("unfold2d_vs_torch", unfold_error,
                  "unfold2d vs F.unfold over seeded random cases (float64)", bound=1e-10)
    lesson.report("im2col_conv_vs_torch", conv_error,
                  "cross_correlate2d (im2col + matmul) vs F.conv2d: stride, padding, dilation, bias, pairs", bound=1e-10)


# %%
def main(argv=None):
    lesson = Lesson.start(__doc__, argv)
    for step in (sliding_window, convolution_vs_correlation, edge_filters, stride_padding_dilation,
                 output_size_table, im2col):
        step(lesson)
    return lesson.finish()


if __name__ == "__main__":
    main()
