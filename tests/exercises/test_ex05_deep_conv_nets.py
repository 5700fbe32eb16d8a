"""Graded tests for exercise 05 (course/exercises/ex05_deep_conv_nets.py): pooling and receptive fields.

Pooling results are compared with PyTorch, computed here in the test process:
- max_pool2d with torch.nn.functional.max_pool2d (which pads with -inf);
- avg_pool2d with torch.nn.functional.avg_pool2d (count_include_pad=True, its default);
- l2_pool2d with sqrt(F.avg_pool2d(x * x)): the root of the MEAN of squares, padded zeros
  counted. (PyTorch's F.lp_pool2d(x, 2, k) is the root of the SUM, sqrt(kh*kw) times larger;
  one test checks that relation too.)
The receptive field is compared with a brute-force measurement that does not use the
formula: a 1-D chain of convolutions with all-ones weights, and the span of input
positions whose gradient reaches one output unit.

Tolerance: inputs are float64, where torch.testing.assert_close's defaults (rtol 1e-7,
atol 1e-7) hold for any order of summation over a window; the float32 cases use the
float32 defaults (rtol 1.3e-6, atol 1e-5). Max pooling picks an input value, so it is
exact. assert_close also checks shape and dtype.
"""
import pytest
import torch
import torch.nn.functional as F

from course.grading.random_cases import randint
from course.grading.sandbox import exercise

FORBIDDEN = [
    "torch.nn.functional.max_pool2d",
    "torch.nn.functional.max_pool2d_with_indices",
    "torch.nn.functional.avg_pool2d",
    "torch.nn.functional.lp_pool2d",
    "torch.nn.functional.adaptive_max_pool2d",
    "torch.nn.functional.adaptive_avg_pool2d",
    "torch.nn.functional.fractional_max_pool2d",
    "torch.max_pool2d",
    "torch._C._nn.avg_pool2d",
    "torch._C._nn.max_pool2d_with_indices",
    "course.chapters.deep_conv_nets.receptive_field",
    "course.chapters.deep_conv_nets.layer_receptive_fields",
    "torch.nn.functional.conv1d",  # measured_receptive_field below uses it, and so does the student copy's library
]

ex05 = exercise("ex05_deep_conv_nets", forbid=FORBIDDEN)


def pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def images(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def torch_l2_pool2d(x, kernel_size, stride=None, padding=0):
    return torch.sqrt(F.avg_pool2d(x * x, kernel_size, stride, padding))


REFERENCES = {"max_pool2d": F.max_pool2d, "avg_pool2d": F.avg_pool2d, "l2_pool2d": torch_l2_pool2d}

# Named edge cases: (input, kernel_size, settings); each pooling function is checked on all of them.
NEGATIVE = -1.0 - images(2, 3, 5, 5, seed=3).abs()  # all negative: padding must never win a max
POOL_EDGE_CASES = {
    "default_stride_is_kernel": (images(2, 3, 6, 6), 2, {}),
    "stride_smaller_than_kernel": (images(1, 2, 7, 7), 3, {"stride": 1}),
    "stride_larger_than_kernel": (images(1, 2, 9, 10), 2, {"stride": 3}),
    "padding_on_negative_input": (NEGATIVE, 3, {"stride": 2, "padding": 1}),
    "padding_with_default_stride": (NEGATIVE, 2, {"padding": 1}),
    "rectangular_kernel_and_pairs": (images(2, 2, 8, 9), (2, 3), {"stride": (1, 2), "padding": (1, 0)}),
    "window_as_large_as_image": (images(1, 1, 4, 5), (4, 5), {}),
    "float32_stays_float32": (images(2, 3, 8, 8, dtype=torch.float32), 3, {"stride": 2, "padding": 1}),
}


def random_pool_cases(seed, count=6):
    """`count` random (x, kernel_size, settings) with PyTorch's rule padding <= kernel // 2."""
    g = torch.Generator().manual_seed(seed)
    cases = []
    while len(cases) < count:
        kh, kw = randint(1, 4, g), randint(1, 4, g)
        kernel = kh if randint(0, 1, g) else (kh, kw)
        kh, kw = pair(kernel)
        settings = {}
        if randint(0, 2, g):
            settings["stride"] = randint(1, 3, g) if randint(0, 1, g) else (randint(1, 3, g), randint(1, 3, g))
        if randint(0, 2, g):
            settings["padding"] = (randint(0, kh // 2, g), randint(0, kw // 2, g))
        ph, pw = settings.get("padding", (0, 0))
        H, W = randint(1, 11, g), randint(1, 11, g)
        if kh > H + 2 * ph or kw > W + 2 * pw:
            continue
        x = torch.randn(randint(1, 2, g), randint(1, 3, g), H, W, generator=g, dtype=torch.float64)
        cases.append((x, kernel, settings))
    return cases


def check_pool(function, cases):
    for x, kernel, settings in cases:
        torch.testing.assert_close(
            getattr(ex05, function)(x, kernel, **settings), REFERENCES[function](x, kernel, **settings),
            msg=lambda m: f"{m}\ninput {tuple(x.shape)}, kernel_size {kernel}, {settings}",
        )


# --------------------------------------------------------------------------------------
# max_pool2d
# --------------------------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(POOL_EDGE_CASES))
def test_max_pool2d_matches_torch_on_edge_cases(case):
    check_pool("max_pool2d", [POOL_EDGE_CASES[case]])


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [501, 502])
def test_max_pool2d_matches_torch_on_random_cases(seed):
    check_pool("max_pool2d", random_pool_cases(seed))


# --------------------------------------------------------------------------------------
# avg_pool2d
# --------------------------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(POOL_EDGE_CASES))
def test_avg_pool2d_matches_torch_on_edge_cases(case):
    check_pool("avg_pool2d", [POOL_EDGE_CASES[case]])


@pytest.mark.points(1)
def test_avg_pool2d_counts_padded_zeros_in_the_mean():
    # A corner window of a 2x2 kernel with padding 1 holds one real cell and three zeros: 4 / 4.
    result = ex05.avg_pool2d(torch.full((1, 1, 2, 2), 4.0, dtype=torch.float64), 2, padding=1)
    torch.testing.assert_close(result, torch.ones(1, 1, 2, 2, dtype=torch.float64))


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [511, 512])
def test_avg_pool2d_matches_torch_on_random_cases(seed):
    check_pool("avg_pool2d", random_pool_cases(seed))


# --------------------------------------------------------------------------------------
# l2_pool2d
# --------------------------------------------------------------------------------------

@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(POOL_EDGE_CASES))
def test_l2_pool2d_matches_root_mean_square_on_edge_cases(case):
    check_pool("l2_pool2d", [POOL_EDGE_CASES[case]])


@pytest.mark.points(1)
def test_l2_pool2d_of_a_constant_image_is_its_absolute_value():
    result = ex05.l2_pool2d(torch.full((1, 2, 6, 6), -3.0, dtype=torch.float64), 3)
    torch.testing.assert_close(result, torch.full((1, 2, 2, 2), 3.0, dtype=torch.float64))


@pytest.mark.points(1)
def test_l2_pool2d_is_torch_lp_pool2d_divided_by_root_window_size():
    x = images(2, 3, 9, 8, seed=7)
    expected = F.lp_pool2d(x, 2, (3, 2), stride=(2, 1)) / (3 * 2) ** 0.5
    torch.testing.assert_close(ex05.l2_pool2d(x, (3, 2), stride=(2, 1)), expected)


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [521, 522])
def test_l2_pool2d_matches_root_mean_square_on_random_cases(seed):
    check_pool("l2_pool2d", random_pool_cases(seed))


# --------------------------------------------------------------------------------------
# receptive_field
# --------------------------------------------------------------------------------------

def measured_receptive_field(layers):
    """(size, jump, start) measured by gradients through 1-D all-ones convolutions, no formula.

    Every layer (pooling included) becomes conv1d with an all-ones kernel: positive weights,
    so no path to the input cancels and an input position reaches a unit exactly when it
    is inside its receptive field. Units far from the borders are measured, so no field is
    cut off by the end of the input; the input is long enough for that.
    """
    length = 4000
    x = torch.zeros(1, 1, length, dtype=torch.float64, requires_grad=True)
    y = x
    for kernel, stride, padding, dilation in layers:
        y = F.conv1d(y, torch.ones(1, 1, kernel, dtype=torch.float64), stride=stride, padding=padding,
                     dilation=dilation)
    i = y.shape[-1] // 2
    spans = []
    for unit in (i, i + 1):
        (gradient,) = torch.autograd.grad(y[0, 0, unit], x, retain_graph=True)
        touched = gradient[0, 0].nonzero()[:, 0]
        spans.append((touched.min().item(), touched.max().item()))
    (first, last), (next_first, _) = spans
    jump = next_first - first
    return last - first + 1, jump, first - i * jump


RECEPTIVE_FIELD_CASES = {  # name: layers as (kernel, stride, padding, dilation)
    "no_layers": [],
    "one_plain_conv": [(5, 1, 0, 1)],
    "conv_pool_conv": [(3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1)],
    "three_conv_pool_blocks": [(3, 1, 1, 1), (2, 2, 0, 1)] * 3,
    "padding_after_a_stride": [(3, 2, 0, 1), (3, 3, 2, 1), (5, 1, 2, 1)],
    "dilated_stack": [(3, 1, 2, 2), (3, 1, 4, 4), (3, 1, 1, 8)],
    "stride_and_dilation_together": [(4, 2, 1, 1), (3, 2, 2, 2), (2, 1, 0, 3)],
}


@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(RECEPTIVE_FIELD_CASES))
def test_receptive_field_matches_gradient_measurement(case):
    layers = RECEPTIVE_FIELD_CASES[case]
    result = ex05.receptive_field(layers)
    assert isinstance(result, (tuple, list)) and len(result) == 3, f"expected (size, jump, start), got {result!r}"
    assert all(type(v) is int for v in result), f"expected three Python ints, got {result!r}"
    assert tuple(result) == measured_receptive_field(layers), f"layers {layers}"


@pytest.mark.points(1)
def test_receptive_field_gives_the_docstring_example():
    assert tuple(ex05.receptive_field([(3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1)])) == (8, 2, -3)


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [531, 532])
def test_receptive_field_matches_gradient_measurement_on_random_stacks(seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(6):
        layers = [(randint(1, 5, g), randint(1, 3, g), randint(0, 2, g), randint(1, 3, g))
                  for _ in range(randint(1, 4, g))]
        result = ex05.receptive_field(layers)
        assert tuple(result) == measured_receptive_field(layers), f"layers {layers}"
