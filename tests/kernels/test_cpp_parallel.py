"""The cpp backend with two threads: the suite runs on one thread, so its parallel loops are checked here.

at::parallel_for splits work only when the extension is built with OpenMP; these shapes are
large enough that every parallel loop of the forward and backward gives both threads work.
Tolerance: float64, relative 1e-12 (sums of at most a few thousand terms, in another order).
"""
import pytest
import torch
import torch.nn.functional as F

import kernels
from course.runtime.threads import cpu_threads

pytestmark = pytest.mark.skipif(not kernels.backends()["cpp"][0], reason=kernels.backends()["cpp"][1])

SHAPES = {  # N, C, H, W, K, k, stride, padding, groups
    "dense": (4, 16, 12, 13, 24, 3, 1, 1, 1),
    "strided_grouped": (3, 12, 17, 19, 24, 3, 2, 2, 3),
    "one_image_many_channels": (1, 64, 7, 7, 64, 3, 1, 1, 1),
    "depthwise": (2, 16, 11, 10, 16, 3, 1, 1, 16),
}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_cpp_forward_and_gradients_match_torch_with_two_threads(shape):
    N, C, H, W, K, k, stride, padding, groups = shape
    g = torch.Generator().manual_seed(sum(shape))
    x = torch.randn(N, C, H, W, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.randn(K, C // groups, k, k, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.randn(K, dtype=torch.float64, generator=g, requires_grad=True)
    conv = dict(stride=stride, padding=padding, groups=groups)
    with cpu_threads(2):
        out = kernels.conv2d(x, w, b, **conv, backend="cpp")
        grad_out = torch.randn(out.shape, dtype=torch.float64, generator=g)
        grads = torch.autograd.grad(out, (x, w, b), grad_out)
    expected = F.conv2d(x, w, b, **conv)
    expected_grads = torch.autograd.grad(expected, (x, w, b), grad_out)
    for actual, reference in zip((out, *grads), (expected, *expected_grads)):
        torch.testing.assert_close(actual, reference, rtol=1e-12, atol=1e-12 * reference.abs().max().item())
