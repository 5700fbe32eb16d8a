"""course/chapters/convolution.py against PyTorch: the hand-written sliding window is F.conv1d / F.unfold / F.conv2d.

Everything runs in float64, where the two implementations differ only by summation order:
a tolerance of 1e-10 (absolute and relative) is many orders above that rounding and far
below any indexing mistake, which moves values by O(1).
"""
import pytest
import torch
import torch.nn.functional as F

from course.chapters.convolution import conv_output_size, convolve1d, cross_correlate1d, cross_correlate2d, unfold2d

TOLERANCE = dict(atol=1e-10, rtol=1e-10)


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize(
    "n, k, stride, padding, dilation",
    [(100, 5, 1, 0, 1), (100, 5, 2, 0, 1), (100, 5, 1, 2, 1), (100, 4, 3, 2, 1), (50, 3, 2, 1, 3), (7, 7, 1, 0, 1), (3, 5, 1, 1, 1)],
)
def test_output_size_matches_conv1d(n, k, stride, padding, dilation):
    measured = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=stride, padding=padding, dilation=dilation)
    assert conv_output_size(n, k, stride, padding, dilation) == measured.shape[-1]


def test_output_size_of_the_text_example():
    assert conv_output_size(100, 5, stride=1) == 96
    assert conv_output_size(100, 5, stride=2) == 48


@pytest.mark.parametrize(
    "args",
    [(0, 3), (10, 0), (10, 3, 0), (10, 3, 1, -1), (10, 3, 1, 0, 0), (4, 5), (4, 3, 1, 0, 2), (10, 3.0), (10, True)],
)
def test_output_size_rejects_bad_arguments(args):
    with pytest.raises(ValueError):
        conv_output_size(*args)


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 0, 1), (1, 2, 1), (3, 1, 2), (1, 0, 4)])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_cross_correlate1d_is_conv1d(k, stride, padding, dilation):
    x, w = _randn(37, seed=1), _randn(k, seed=2)
    expected = F.conv1d(x[None, None], w[None, None], stride=stride, padding=padding, dilation=dilation)[0, 0]
    torch.testing.assert_close(cross_correlate1d(x, w, stride, padding, dilation), expected, **TOLERANCE)


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), (1, 3, 2)])
def test_convolve1d_is_conv1d_with_flipped_kernel(stride, padding, dilation):
    x, w = _randn(30, seed=3), _randn(4, seed=4)
    expected = F.conv1d(x[None, None], w.flip(0)[None, None], stride=stride, padding=padding, dilation=dilation)[0, 0]
    torch.testing.assert_close(convolve1d(x, w, stride, padding, dilation), expected, **TOLERANCE)


def test_convolve1d_follows_the_textbook_sum():
    # y[i] = sum_j w[j] x[i - j], indexed so that output 0 is the first full window.
    x, w = _randn(12, seed=5), _randn(3, seed=6)
    k = len(w)
    by_hand = torch.stack([sum(w[j] * x[i + k - 1 - j] for j in range(k)) for i in range(len(x) - k + 1)])
    torch.testing.assert_close(convolve1d(x, w), by_hand, **TOLERANCE)


def test_convolution_and_correlation_differ_for_asymmetric_kernel():
    x, w = _randn(20, seed=7), torch.tensor([1.0, 2.0, -3.0], dtype=torch.float64)
    assert (convolve1d(x, w) - cross_correlate1d(x, w)).abs().max() > 0.1


CASES_2D = [  # (input shape, kernel size, stride, padding, dilation)
    ((1, 1, 5, 5), 3, 1, 0, 1),
    ((2, 3, 8, 11), (3, 2), 2, 1, 1),
    ((1, 2, 9, 7), 3, (2, 1), (0, 2), (2, 1)),
    ((3, 4, 6, 6), 1, 1, 0, 1),  # 1x1 kernel
    ((1, 1, 4, 6), (4, 6), 1, 0, 1),  # kernel equal to the input
    ((1, 2, 3, 3), 5, 1, 1, 1),  # kernel equal to the padded input
    ((2, 2, 10, 13), (2, 3), 3, (1, 0), 2),
    ((1, 1, 7, 7), 3, 2, 2, 2),
]


@pytest.mark.parametrize("shape, kernel_size, stride, padding, dilation", CASES_2D)
def test_unfold2d_is_torch_unfold(shape, kernel_size, stride, padding, dilation):
    x = _randn(*shape, seed=8)
    expected = F.unfold(x, kernel_size, dilation=dilation, padding=padding, stride=stride)
    torch.testing.assert_close(unfold2d(x, kernel_size, stride, padding, dilation), expected, **TOLERANCE)


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("shape, kernel_size, stride, padding, dilation", CASES_2D)
def test_cross_correlate2d_is_conv2d(shape, kernel_size, stride, padding, dilation, with_bias):
    kh, kw = kernel_size if isinstance(kernel_size, tuple) else (kernel_size, kernel_size)
    x, w = _randn(*shape, seed=9), _randn(3, shape[1], kh, kw, seed=10)
    bias = _randn(3, seed=11) if with_bias else None
    expected = F.conv2d(x, w, bias, stride=stride, padding=padding, dilation=dilation)
    torch.testing.assert_close(cross_correlate2d(x, w, bias, stride, padding, dilation), expected, **TOLERANCE)


def test_cross_correlate2d_keeps_float32():
    x, w = _randn(1, 2, 6, 6).float(), _randn(4, 2, 3, 3, seed=1).float()
    out = cross_correlate2d(x, w, padding=1)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, F.conv2d(x, w, padding=1))  # float32 default tolerances


@pytest.mark.parametrize(
    "call",
    [
        lambda: cross_correlate1d(_randn(3), _randn(4)),  # kernel longer than the input
        lambda: cross_correlate1d(_randn(2, 3), _randn(2)),  # not 1-D
        lambda: cross_correlate1d(_randn(10), _randn(3), stride=0),
        lambda: unfold2d(_randn(3, 5, 5), 3),  # not (N, C, H, W)
        lambda: unfold2d(_randn(1, 1, 5, 5), (3, 3, 3)),  # not a pair
        lambda: unfold2d(_randn(1, 1, 5, 5), 3, padding=-1),
        lambda: cross_correlate2d(_randn(1, 2, 5, 5), _randn(1, 3, 3, 3)),  # channel mismatch
        lambda: cross_correlate2d(_randn(1, 1, 5, 5), _randn(2, 1, 3, 3), bias=_randn(3)),  # bias size
        lambda: cross_correlate2d(_randn(1, 1, 5, 5), _randn(1, 1, 3, 3), dilation=3),  # span 7 > 5
        lambda: cross_correlate2d(_randn(1, 1, 5, 5), _randn(1, 1, 3, 3), stride=(1, 0)),
    ],
)
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
