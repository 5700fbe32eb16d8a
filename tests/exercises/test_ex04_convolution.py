"""Graded tests for exercise 04 (course/exercises/ex04_convolution.py): convolution by hand.

Every result is compared with what PyTorch computes here, in the test process. The
submission runs in a sandbox process (`course.grading.sandbox`) in which torch's own
convolution and unfold, and the course's `course.chapters.convolution`, are switched off.

Tolerance: the inputs are float64, so torch.testing.assert_close's defaults for float64
(rtol 1e-7, atol 1e-7) hold for any order of summation over these few small terms; the
float32 cases use the float32 defaults (rtol 1.3e-6, atol 1e-5), which the same sums meet.
assert_close also checks shape and dtype.
"""
import pytest
import torch
import torch.nn.functional as F

from course.grading.random_cases import randint, randn
from course.grading.sandbox import exercise

FORBIDDEN = [
    "torch.nn.functional.conv1d",
    "torch.nn.functional.conv2d",
    "torch.nn.functional.conv3d",
    "torch.nn.functional.conv_transpose1d",
    "torch.nn.functional.conv_transpose2d",
    "torch.nn.functional.unfold",
    "torch.nn.functional.fold",
    "torch.conv1d",
    "torch.conv2d",
    "torch.convolution",
    "torch._convolution",
    "course.chapters.convolution.cross_correlate1d",
    "course.chapters.convolution.convolve1d",
    "course.chapters.convolution.unfold2d",
    "course.chapters.convolution.cross_correlate2d",
    "course.chapters.convolution.conv_output_size",
    "kernels.arguments.conv_output_size",  # importable in the sandbox (the Triton exercise needs kernels)
]

ex04 = exercise("ex04_convolution", forbid=FORBIDDEN)


def torch_xcorr1d(x, w):
    return F.conv1d(x.reshape(1, 1, -1), w.reshape(1, 1, -1)).reshape(-1)


def torch_conv1d(x, w):
    return torch_xcorr1d(x, w.flip(0))


def torch_output_size(n, k, stride, padding, dilation):
    """The length PyTorch itself produces for these settings."""
    out = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=stride, padding=padding, dilation=dilation)
    return out.shape[-1]


def fits(n, k, padding, dilation):
    """Whether a dilated kernel of length k fits in an input of length n padded by `padding`."""
    return dilation * (k - 1) + 1 <= n + 2 * padding


# --------------------------------------------------------------------------------------
# 1-D: xcorr1d and conv1d
# --------------------------------------------------------------------------------------

def random_signal_and_kernel(seed):
    g = torch.Generator().manual_seed(seed)
    n = randint(1, 30, g)
    k = randint(1, n, g)
    return randn(n, generator=g), randn(k, generator=g)


def f64(values):
    return torch.tensor(values, dtype=torch.float64)


EDGE_CASES_1D = {  # (x, w)
    "kernel_as_long_as_signal": (f64([1.0, 2.0, 3.0, 4.0, 5.0]), f64([1.0, -2.0, 0.5, 3.0, -1.0])),
    "single_tap_kernel": (f64([1.0, 2.0, 3.0, 4.0, 5.0]), f64([-1.5])),
    "float32_stays_float32": (torch.linspace(-1.0, 1.0, 9), torch.tensor([0.25, -1.0, 2.0])),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [401, 402])
def test_xcorr1d_matches_torch_on_random_cases(seed):
    x, w = random_signal_and_kernel(seed)
    torch.testing.assert_close(ex04.xcorr1d(x, w), torch_xcorr1d(x, w))


@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(EDGE_CASES_1D))
def test_xcorr1d_matches_torch_on_edge_cases(case):
    x, w = EDGE_CASES_1D[case]
    torch.testing.assert_close(ex04.xcorr1d(x, w), torch_xcorr1d(x, w))


@pytest.mark.points(1)
def test_conv1d_flips_the_kernel_on_a_hand_example():
    x, w = f64([1.0, 2.0, 3.0, 4.0]), f64([1.0, 2.0])
    # y[0] = w[0]*x[1] + w[1]*x[0] = 2 + 2, and so on; xcorr1d would give 5, 8, 11.
    torch.testing.assert_close(ex04.conv1d(x, w), f64([4.0, 7.0, 10.0]))


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [411, 412])
def test_conv1d_matches_torch_on_random_cases(seed):
    x, w = random_signal_and_kernel(seed)
    torch.testing.assert_close(ex04.conv1d(x, w), torch_conv1d(x, w))


@pytest.mark.points(1)
@pytest.mark.parametrize("case", ["kernel_as_long_as_signal", "float32_stays_float32"])
def test_conv1d_matches_torch_on_edge_cases(case):
    x, w = EDGE_CASES_1D[case]
    torch.testing.assert_close(ex04.conv1d(x, w), torch_conv1d(x, w))


# --------------------------------------------------------------------------------------
# conv_output_size
# --------------------------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.parametrize("stride, expected", [(1, 96), (2, 48)])
def test_conv_output_size_gives_the_lesson_example(stride, expected):
    result = ex04.conv_output_size(100, 5, stride=stride)
    assert type(result) is int, f"expected a Python int, got {type(result).__name__}"
    assert result == expected


@pytest.mark.points(3)
def test_conv_output_size_is_an_int_matching_torch_on_many_cases():
    g = torch.Generator().manual_seed(420)
    cases = [  # named edge cases first: k = n, k = 1, stride > k, padding with dilation
        (7, 7, 1, 0, 1), (7, 1, 1, 0, 1), (10, 2, 5, 0, 1), (9, 3, 2, 2, 3), (5, 9, 1, 2, 1),
    ]
    while len(cases) < 60:
        n, k = randint(1, 40, g), randint(1, 7, g)
        stride, padding, dilation = randint(1, 4, g), randint(0, 3, g), randint(1, 3, g)
        if fits(n, k, padding, dilation):
            cases.append((n, k, stride, padding, dilation))
    for n, k, stride, padding, dilation in cases:
        result = ex04.conv_output_size(n, k, stride=stride, padding=padding, dilation=dilation)
        where = f"n={n}, k={k}, stride={stride}, padding={padding}, dilation={dilation}"
        assert type(result) is int, f"{where}: expected a Python int, got {type(result).__name__}"
        assert result == torch_output_size(n, k, stride, padding, dilation), where


# --------------------------------------------------------------------------------------
# 2-D: conv2d and im2col
# --------------------------------------------------------------------------------------

def conv2d_case(N=2, C=3, O=4, H=6, W=6, kh=3, kw=3, bias=False, dtype=torch.float64, seed=0, **settings):
    g = torch.Generator().manual_seed(seed)
    x = randn(N, C, H, W, generator=g, dtype=dtype)
    w = randn(O, C, kh, kw, generator=g, dtype=dtype)
    b = randn(O, generator=g, dtype=dtype) if bias else None
    return x, w, b, settings


CONV2D_EDGE_CASES = {
    "batch_of_one_single_channel": conv2d_case(N=1, C=1, O=1, H=5, W=5),
    "one_by_one_kernel": conv2d_case(kh=1, kw=1),
    "stride_larger_than_kernel": conv2d_case(H=11, W=10, kh=2, kw=2, stride=3),
    "rectangular_image_and_kernel": conv2d_case(H=5, W=9, kh=2, kw=4),
    "stride_pair": conv2d_case(H=9, W=9, stride=(1, 3)),
    "padding_pair": conv2d_case(H=5, W=5, padding=(2, 0)),
    "dilation_pair": conv2d_case(H=9, W=9, dilation=(3, 1)),
    "with_bias": conv2d_case(bias=True, padding=1),
    "padding_with_dilation": conv2d_case(H=5, W=6, padding=2, dilation=2),
    "kernel_equal_to_padded_input": conv2d_case(H=3, W=4, kh=5, kw=6, padding=1),
    "float32_stays_float32": conv2d_case(dtype=torch.float32, bias=True, stride=2, padding=1),
}


def random_settings(g):
    """stride, padding and dilation, each an int or a pair, for a random case."""
    def draw(low, high):
        if randint(0, 1, g):
            return randint(low, high, g)
        return (randint(low, high, g), randint(low, high, g))
    return {"stride": draw(1, 3), "padding": draw(0, 2), "dilation": draw(1, 3)}


def pair(value):
    return (value, value) if isinstance(value, int) else value


def random_conv2d_cases(seed, count=5):
    """`count` random (x, w, bias, settings), with sizes redrawn until the output is not empty."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    while len(cases) < count:
        settings = random_settings(g)
        N, C, O = randint(1, 3, g), randint(1, 3, g), randint(1, 4, g)
        H, W, kh, kw = randint(1, 12, g), randint(1, 12, g), randint(1, 4, g), randint(1, 4, g)
        (ph, pw), (dh, dw) = pair(settings["padding"]), pair(settings["dilation"])
        if not (fits(H, kh, ph, dh) and fits(W, kw, pw, dw)):
            continue
        x, w = randn(N, C, H, W, generator=g), randn(O, C, kh, kw, generator=g)
        b = randn(O, generator=g) if randint(0, 1, g) else None
        cases.append((x, w, b, settings))
    return cases


@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(CONV2D_EDGE_CASES))
def test_conv2d_matches_torch_on_edge_cases(case):
    x, w, b, settings = CONV2D_EDGE_CASES[case]
    torch.testing.assert_close(ex04.conv2d(x, w, b, **settings), F.conv2d(x, w, b, **settings))


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [431, 432])
def test_conv2d_matches_torch_on_random_cases(seed):
    for x, w, b, settings in random_conv2d_cases(seed):
        torch.testing.assert_close(
            ex04.conv2d(x, w, b, **settings), F.conv2d(x, w, b, **settings),
            msg=lambda m: f"{m}\ninput {tuple(x.shape)}, weight {tuple(w.shape)}, bias {b is not None}, {settings}",
        )


IM2COL_EDGE_CASES = {
    "batch_of_one_single_channel": (conv2d_case(N=1, C=1, H=4, W=5)[0], 2, {}),
    "several_channels_keep_channel_major_rows": (conv2d_case(C=3, H=5, W=4)[0], 2, {}),
    "rectangular_kernel_and_pairs": (
        conv2d_case(H=7, W=8)[0], (2, 3), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)}
    ),
    "padding_with_dilation": (conv2d_case(H=5, W=5)[0], 3, {"padding": 2, "dilation": 2, "stride": 2}),
    "float32_stays_float32": (conv2d_case(dtype=torch.float32)[0], 3, {"padding": 1}),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(IM2COL_EDGE_CASES))
def test_im2col_matches_torch_unfold_on_edge_cases(case):
    x, k, settings = IM2COL_EDGE_CASES[case]
    torch.testing.assert_close(ex04.im2col(x, k, **settings), F.unfold(x, k, **settings))


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [441, 442])
def test_im2col_matches_torch_unfold_on_random_cases(seed):
    for x, w, _, settings in random_conv2d_cases(seed):
        k = tuple(w.shape[-2:]) if w.shape[-2] != w.shape[-1] else w.shape[-1]
        torch.testing.assert_close(
            ex04.im2col(x, k, **settings), F.unfold(x, k, **settings),
            msg=lambda m: f"{m}\ninput {tuple(x.shape)}, kernel {k}, {settings}",
        )
