"""Graded tests for exercise 06 (course/exercises/ex06_triton.py): Triton kernels, run in the interpreter.

The submission's kernels run in a sandbox process under the Triton interpreter (TRITON_INTERPRET=1,
set below before the sandbox starts, so grading works the same with or without a GPU).

Out-of-bounds accesses are caught with guard bands: every tensor handed to a kernel is a view into a
buffer a few elements larger on every side (so 2-D and 3-D views are not even contiguous). Around an
input the buffer holds NaN: a load outside the input brings NaN into the result. The output view and
the memory around it start as SENTINEL: after the call, a changed element around the output means a
store outside it, and an element of the output still equal to SENTINEL was never written. The tensors
travel to the sandbox and back with torch.save, which keeps a view's whole buffer, so the test sees
the guard bands as the kernel left them.

Tolerance: inputs are float32 and the references are computed in float64 and rounded to float32.
A kernel accumulating in float32 sums at most 36 products here, so its error is far below
rtol = atol = 1e-5 (the float32 tolerance of the kernels' conformance suite). assert_close also
checks shape and dtype. Sizes are tiny because the interpreter runs every program in numpy.
"""
import os

os.environ["TRITON_INTERPRET"] = "1"  # before the sandbox starts: the worker inherits the environment

import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from course.grading.random_cases import randn  # noqa: E402
from course.grading.sandbox import exercise  # noqa: E402

FORBIDDEN = [
    "torch.nn.functional.conv1d",
    "torch.nn.functional.conv2d",
    "torch.nn.functional.unfold",
    "torch.conv1d",
    "torch.conv2d",
    "torch.convolution",
    "torch._convolution",
]
ex06 = exercise("ex06_triton", forbid=FORBIDDEN)

SENTINEL = -12345.0
TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def inside_guards(values: torch.Tensor, margins, fill: float) -> torch.Tensor:
    """A view holding `values` inside a buffer filled with `fill`, margins[i] elements larger on each side of axis i."""
    buffer = torch.full([size + 2 * margin for size, margin in zip(values.shape, margins)], fill, dtype=values.dtype)
    view = buffer[tuple(slice(margin, margin + size) for size, margin in zip(values.shape, margins))]
    view.copy_(values)
    return view


def guarded_input(values, margins):
    return inside_guards(values, margins, float("nan"))


def guarded_output(shape, margins):
    return inside_guards(torch.full(shape, SENTINEL), margins, SENTINEL)


def check_output(result, out, expected):
    """`result` is `out` as the kernel left it: no store outside it, no NaN read, nothing unwritten, right values."""
    same_view = (isinstance(result, torch.Tensor) and result.shape == out.shape and result.stride() == out.stride()
                 and result.storage_offset() == out.storage_offset()
                 and result.untyped_storage().nbytes() == out.untyped_storage().nbytes())
    assert same_view, "the launcher must fill the `out` tensor it was given and return it"
    buffer = torch.empty(0, dtype=result.dtype).set_(result.untyped_storage())
    in_view = torch.zeros(buffer.shape, dtype=torch.bool)
    in_view.as_strided(result.shape, result.stride(), result.storage_offset()).fill_(True)
    outside = buffer[~in_view]
    changed = int((outside != SENTINEL).sum())
    assert changed == 0, (f"wrote outside the output: {changed} elements of the memory around `out` changed "
                          "(a store without a mask, or a wrong address)")
    leaked = int(torch.isnan(result).sum())
    assert leaked == 0, (f"read outside the input (NaN leaked into the result): {leaked} of {result.numel()} "
                         "outputs are NaN; the memory around every input holds NaN (a load without a mask?)")
    unwritten = int((result == SENTINEL).sum())
    assert unwritten == 0, f"left {unwritten} of {result.numel()} output elements unwritten"
    torch.testing.assert_close(result, expected, **TOLERANCE)


def run_vector_add(n, block, seed):
    g = torch.Generator().manual_seed(seed)
    x, y = randn(n, generator=g, dtype=torch.float32), randn(n, generator=g, dtype=torch.float32)
    margins = (block + 8,)  # wider than the overshoot of a ragged last block
    out = guarded_output((n,), margins)
    result = ex06.vector_add(guarded_input(x, margins), guarded_input(y, margins), out, block)
    check_output(result, out, x + y)


def reference_conv1d(x, w, stride, padding):
    return F.conv1d(x.double()[None, None], w.double()[None, None], stride=stride, padding=padding)[0, 0].float()


def run_conv1d(L, R, stride, padding, block, seed):
    g = torch.Generator().manual_seed(seed)
    x, w = randn(L, generator=g, dtype=torch.float32), randn(R, generator=g, dtype=torch.float32)
    expected = reference_conv1d(x, w, stride, padding)
    margins = (block * stride + R + padding + 8,)  # wider than any overshoot of a ragged last block
    out = guarded_output(expected.shape, margins)
    result = ex06.conv1d(guarded_input(x, margins), guarded_input(w, margins), out, stride, padding, block)
    check_output(result, out, expected)


def reference_conv2d(x, w, stride, padding):
    return F.conv2d(x.double()[None], w.double(), stride=stride, padding=padding)[0].float()


def run_conv2d(C, H, W, K, R, S, stride, padding, block, seed):
    g = torch.Generator().manual_seed(seed)
    x, w = randn(C, H, W, generator=g, dtype=torch.float32), randn(K, C, R, S, generator=g, dtype=torch.float32)
    expected = reference_conv2d(x, w, stride, padding)
    # One guard plane around the channels; around rows and columns more than a ragged block can overshoot.
    margin = block * stride + max(R, S) + padding + 2
    out = guarded_output(expected.shape, (1, margin, margin))
    result = ex06.conv2d(guarded_input(x, (1, margin, margin)), w, out, stride, padding, block)
    check_output(result, out, expected)


# --------------------------------------------------------------------------------------
# vector_add
# --------------------------------------------------------------------------------------

@pytest.mark.points(1)
def test_vector_add_block_divides_length():
    run_vector_add(n=64, block=16, seed=0)


@pytest.mark.points(2)
def test_vector_add_ragged_last_block_stays_in_bounds():
    run_vector_add(n=37, block=16, seed=1)


@pytest.mark.points(1)
def test_vector_add_single_element_in_a_large_block():
    run_vector_add(n=1, block=64, seed=2)


@pytest.mark.points(1)
@pytest.mark.parametrize("seed", [10, 11])
def test_vector_add_seeded_random_lengths(seed):
    g = torch.Generator().manual_seed(seed)
    run_vector_add(n=int(torch.randint(2, 100, (), generator=g)), block=[16, 32, 64][seed % 3], seed=seed)


# --------------------------------------------------------------------------------------
# conv1d
# --------------------------------------------------------------------------------------

@pytest.mark.points(2)
def test_conv1d_valid_without_padding():
    run_conv1d(L=32, R=3, stride=1, padding=0, block=16, seed=3)


@pytest.mark.points(2)
def test_conv1d_padding_reads_zeros_not_neighbours():
    run_conv1d(L=20, R=5, stride=1, padding=2, block=32, seed=4)


@pytest.mark.points(2)
def test_conv1d_stride_skips_windows():
    run_conv1d(L=30, R=3, stride=3, padding=0, block=16, seed=5)


@pytest.mark.points(2)
def test_conv1d_ragged_output_block_stays_in_bounds():
    run_conv1d(L=24, R=4, stride=1, padding=1, block=16, seed=6)  # 23 outputs: the second block is ragged


@pytest.mark.points(2)
@pytest.mark.parametrize("seed", [20, 21])
def test_conv1d_seeded_random_cases(seed):
    g = torch.Generator().manual_seed(seed)
    L = int(torch.randint(5, 40, (), generator=g))
    R = int(torch.randint(1, 6, (), generator=g))
    run_conv1d(L=L, R=R, stride=int(torch.randint(1, 4, (), generator=g)), padding=int(torch.randint(0, 3, (), generator=g)),
               block=16, seed=seed)


# --------------------------------------------------------------------------------------
# conv2d
# --------------------------------------------------------------------------------------

@pytest.mark.points(2)
def test_conv2d_one_by_one_kernel_mixes_channels():
    run_conv2d(C=3, H=5, W=6, K=2, R=1, S=1, stride=1, padding=0, block=32, seed=7)


@pytest.mark.points(3)
def test_conv2d_padding_reads_zeros_not_neighbours():
    run_conv2d(C=2, H=5, W=6, K=2, R=3, S=3, stride=1, padding=1, block=32, seed=8)


@pytest.mark.points(3)
def test_conv2d_stride_with_padding_and_rectangular_kernel():
    run_conv2d(C=2, H=8, W=7, K=2, R=3, S=2, stride=2, padding=1, block=16, seed=9)


@pytest.mark.points(2)
def test_conv2d_kernel_as_large_as_the_padded_input():
    run_conv2d(C=2, H=3, W=4, K=3, R=5, S=6, stride=1, padding=1, block=16, seed=12)


@pytest.mark.points(3)
@pytest.mark.parametrize("seed", [30])
def test_conv2d_seeded_random_case(seed):
    g = torch.Generator().manual_seed(seed)
    R, S = int(torch.randint(1, 4, (), generator=g)), int(torch.randint(1, 4, (), generator=g))
    run_conv2d(C=2, H=int(torch.randint(R, 8, (), generator=g)), W=int(torch.randint(S, 8, (), generator=g)), K=2,
               R=R, S=S, stride=int(torch.randint(1, 3, (), generator=g)), padding=int(torch.randint(0, 2, (), generator=g)),
               block=16, seed=seed)
