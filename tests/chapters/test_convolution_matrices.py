"""A 1-D convolution as a matrix (banded Toeplitz, circulant on a ring), and the cells a strided window never reads."""
import pytest
import torch
import torch.nn.functional as F

from course.chapters.convolution import circulant_matrix, correlation_matrix, never_read


@pytest.mark.parametrize("stride, padding, dilation", [(1, 0, 1), (2, 1, 1), (3, 2, 2), (1, 4, 1), (2, 0, 3)])
def test_correlation_matrix_times_x_is_conv1d(stride, padding, dilation):
    g = torch.Generator().manual_seed(stride * 100 + padding * 10 + dilation)
    x, w = torch.randn(17, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    expected = F.conv1d(x[None, None], w[None, None], stride=stride, padding=padding, dilation=dilation)[0, 0]
    # float64 matrix-vector product against PyTorch's conv1d: rounding only
    torch.testing.assert_close(correlation_matrix(w, 17, stride, padding, dilation) @ x, expected)


def test_circulant_matrix_is_correlation_on_a_ring():
    x, w = torch.randn(9, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    ring = F.conv1d(F.pad(x[None, None], (0, 2), mode="circular"), w[None, None])[0, 0]
    torch.testing.assert_close(circulant_matrix(w, 9) @ x, ring)
    assert torch.equal(circulant_matrix(w, 9)[3], torch.roll(circulant_matrix(w, 9)[0], 3))


def test_no_window_fits_and_kernel_longer_than_ring_raise():
    with pytest.raises(ValueError, match="dilated kernel spans"):
        correlation_matrix(torch.ones(5), 3)
    with pytest.raises(ValueError, match="k <= n"):
        circulant_matrix(torch.ones(5), 3)


@pytest.mark.parametrize("n, k, stride, padding, dilation", [(11, 3, 2, 0, 1), (12, 3, 2, 0, 1), (100, 5, 3, 0, 1),
                                                             (10, 2, 2, 0, 2), (9, 3, 4, 1, 1)])
def test_never_read_cells_get_no_gradient(n, k, stride, padding, dilation):
    x = torch.randn(1, 1, n, dtype=torch.float64, requires_grad=True)
    F.conv1d(x, torch.ones(1, 1, k, dtype=torch.float64), stride=stride, padding=padding, dilation=dilation).sum().backward()
    assert never_read(n, k, stride, padding, dilation) == (x.grad[0, 0] == 0).nonzero()[:, 0].tolist()
