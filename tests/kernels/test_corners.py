"""Where the kernels meet the rest of torch, on every backend: empty channels, memory format, autocast, unbatched.

- No input channel (x (2, 0, 7, 8), w (12, 0, 3, 3), groups 3): every output is a sum of no terms, so
  it is the bias, with the output's full shape (N, K, P, Q) and the gradients of an ordinary convolution
  (bias: Σ over N, P, Q; input and weight: empty). The reference is F.conv2d of the same call with one
  all-zero input channel per group. (F.conv2d itself returns zero output channels here, shape
  (2, 0, 5, 6): pytorch/pytorch#56998; we return what the convolution means.) Likewise for the group
  convolutions with Cin = 0, against the reference backend.
- Output memory format: the strides of F.conv2d's output for every combination of a channels-last
  input and weight (channels-last in, channels-last out), grouped and depthwise, batched and not.
- Autocast: under `torch.autocast("cpu", torch.bfloat16)` the result has F.conv2d's dtype (bfloat16
  for float32 inputs, float64 stays float64), values within bfloat16 rounding of the float64
  convolution of the rounded operands (rtol = atol = 1.6e-2, as in test_conformance.py); the "cpp"
  backend, which has no bfloat16, computes in float32 and returns bfloat16.
- Unbatched (C, H, W) input: the same values and shape as F.conv2d.
- Values no window reads do not leak: a NaN in the input row that stride 2 never reaches and an inf
  in the last column (never read at stride 2; at stride 1 only through the kernel's last column)
  give the same outputs and gradients as F.conv2d, finite and infinite entries alike. The CPU tiles
  read whole vectors of pixels past a row's end and must discard those lanes, not multiply them by
  zero (inf * 0 is NaN).
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import kernels

GROUP_ORDER = {"p4_lift": 4, "p4_conv": 4, "p4m_lift": 8, "p4m_conv": 8}


def params(group=False):
    status = kernels.group_backends() if group else kernels.backends()
    return [pytest.param(name, marks=() if ok else pytest.mark.skip(reason=f"backend {name!r} unavailable: {reason}"))
            for name, (ok, reason) in status.items()]


def device_of(backend, group=False):
    return torch.device(getattr(kernels.backend_module(backend, group), "DEVICE", None) or "cpu")


@pytest.mark.parametrize("backend", params())
def test_no_input_channel_gives_the_bias_with_gradients(backend):
    device = device_of(backend)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 0, 7, 8, generator=gen).to(device).requires_grad_()
    w = torch.randn(12, 0, 3, 3, generator=gen).to(device).requires_grad_()
    b = torch.randn(12, generator=gen).to(device).requires_grad_()
    out = kernels.conv2d(x, w, b, groups=3, backend=backend)
    # The same convolution with one all-zero input channel per group: F.conv2d computes that one right.
    expected = F.conv2d(torch.zeros(2, 3, 7, 8), torch.randn(12, 1, 3, 3, generator=gen), b.detach().cpu(), groups=3)
    assert out.shape == (2, 12, 5, 6)
    torch.testing.assert_close(out.cpu(), expected, rtol=0, atol=0)
    out.square().sum().backward()
    torch.testing.assert_close(b.grad.cpu(), 2 * expected.sum(dim=(0, 2, 3)), rtol=1e-6, atol=1e-6)
    assert x.grad.shape == x.shape and w.grad.shape == w.shape


@pytest.mark.parametrize("backend", params())
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the Triton interpreter's inf * 0
@pytest.mark.parametrize("channels, groups", [(1, 1), (5, 1), (5, 5)], ids=["one_channel", "five", "depthwise"])
@pytest.mark.parametrize("stride", [2, (2, 1)], ids=["stride_2", "stride_2_1"])
def test_values_that_no_window_reads_do_not_leak(backend, channels, groups, stride):
    device = device_of(backend)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, channels, 6, 6, generator=gen, dtype=torch.float64)
    x[..., 5, :] = float("nan")  # stride 2 over 6 rows, a 3x3 kernel: rows 0-4 are read, row 5 never
    x[..., 5] = float("inf")  # columns: at stride 2 never read; at stride 1 only by the kernel's last column
    k = channels if groups > 1 else 4
    w = torch.randn(k, channels // groups, 3, 3, generator=gen, dtype=torch.float64)
    expected = F.conv2d(x, w, stride=stride, groups=groups)
    dy = torch.randn(expected.shape, generator=gen, dtype=torch.float64)
    xs, ws = x.clone().requires_grad_(), w.clone().requires_grad_()
    F.conv2d(xs, ws, stride=stride, groups=groups).backward(dy)
    xk, wk = x.to(device).requires_grad_(), w.to(device).requires_grad_()
    out = kernels.conv2d(xk, wk, stride=stride, groups=groups, backend=backend)
    out.backward(dy.to(device))
    torch.testing.assert_close(out.detach().cpu(), expected, equal_nan=True)
    assert torch.equal(torch.isfinite(wk.grad.cpu()), torch.isfinite(ws.grad)), \
        "a value no window reads reached the weight gradient"
    torch.testing.assert_close(wk.grad.cpu(), ws.grad, equal_nan=True)
    torch.testing.assert_close(xk.grad.cpu(), xs.grad)


@pytest.mark.parametrize("op", list(GROUP_ORDER))
@pytest.mark.parametrize("backend", params(group=True))
def test_group_conv_with_no_input_channel_gives_the_bias(op, backend):
    device = device_of(backend, group=True)
    g = GROUP_ORDER[op]
    axis = () if op.endswith("_lift") else (g,)
    x = torch.randn(2, 0, *axis, 7, 8).to(device).requires_grad_()
    w = torch.randn(3, 0, *axis, 3, 3).to(device).requires_grad_()
    b = torch.randn(3).to(device).requires_grad_()
    out = getattr(kernels, op)(x, w, b, padding=1, backend=backend)
    expected = getattr(kernels, op)(x.detach().cpu(), w.detach().cpu(), b.detach().cpu(), padding=1, backend="torch")
    assert out.shape == (2, 3, g, 7, 8)
    torch.testing.assert_close(out.cpu(), expected, rtol=0, atol=0)
    torch.testing.assert_close(out.cpu(), b.detach().cpu().view(1, 3, 1, 1, 1).expand(2, 3, g, 7, 8), rtol=0, atol=0)
    out.sum().backward()
    torch.testing.assert_close(b.grad.cpu(), torch.full((3,), 2.0 * g * 7 * 8))


LAYOUTS = {  # (input channels-last, weight channels-last, groups, weight's input channels)
    "input_cl": (True, False, 1, 4),
    "weight_cl": (False, True, 1, 4),
    "both_cl": (True, True, 2, 2),
    "weight_cl_grouped": (False, True, 2, 2),
    "weight_cl_depthwise": (False, True, 4, 1),  # (K, 1, R, S) is contiguous and channels-last at once
    "neither": (False, False, 1, 4),
}


@pytest.mark.parametrize("unbatched", [False, True], ids=["batched", "unbatched"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("backend", params())
def test_output_has_the_strides_f_conv2d_gives(backend, layout, unbatched):
    input_cl, weight_cl, groups, c_per_group = LAYOUTS[layout]
    device = device_of(backend)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 6, 5, generator=gen)
    w = torch.randn(8, c_per_group, 3, 2, generator=gen)
    if input_cl:
        x = x.contiguous(memory_format=torch.channels_last)
    if weight_cl:
        w = w.contiguous(memory_format=torch.channels_last)
    if unbatched:
        x = x[0]
    expected = F.conv2d(x, w, padding=1, groups=groups)
    out = kernels.conv2d(x.to(device), w.to(device), padding=1, groups=groups, backend=backend)
    assert out.shape == expected.shape and out.stride() == expected.stride(), (out.stride(), expected.stride())
    torch.testing.assert_close(out.cpu(), expected, rtol=1e-5, atol=1e-5)


BF16 = dict(rtol=1.6e-2, atol=1.6e-2)


@pytest.mark.parametrize("backend", params())
def test_autocast_gives_the_dtype_and_values_f_conv2d_gives(backend):
    device = device_of(backend)
    gen = torch.Generator().manual_seed(2)
    x, w, b = torch.randn(2, 3, 6, 6, generator=gen), torch.randn(4, 3, 3, 3, generator=gen), torch.randn(4, generator=gen)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = F.conv2d(x, w, b, padding=1)
        leaves = [t.to(device).requires_grad_() for t in (x, w, b)]
        out = kernels.conv2d(*leaves, padding=1, backend=backend)
        kept = kernels.conv2d(x.double().to(device), w.double().to(device), b.double().to(device), padding=1,
                              backend=backend) if torch.float64 in kernels.backend_module(backend).SUPPORTED_DTYPES else None
    assert out.dtype == expected.dtype == torch.bfloat16
    exact = F.conv2d(*(t.bfloat16().double() for t in (x, w, b)), padding=1)  # the rounded operands, exactly
    torch.testing.assert_close(out.cpu().double(), exact, **BF16)
    if kept is not None:
        assert kept.dtype == torch.float64  # autocast leaves float64 alone, as for F.conv2d
    out.float().sum().backward()
    for leaf in leaves:
        assert leaf.grad.dtype == torch.float32 and leaf.grad.shape == leaf.shape
    torch.testing.assert_close(leaves[2].grad.cpu(), torch.full((4,), 2 * 6 * 6.0))  # N * P * Q


@pytest.mark.parametrize("op", list(GROUP_ORDER))
@pytest.mark.parametrize("backend", params(group=True))
def test_group_conv_under_autocast_has_the_reference_dtype(op, backend):
    device = device_of(backend, group=True)
    g = GROUP_ORDER[op]
    axis = () if op.endswith("_lift") else (g,)
    gen = torch.Generator().manual_seed(3)
    x, w = torch.randn(1, 2, *axis, 5, 5, generator=gen), torch.randn(2, 2, *axis, 3, 3, generator=gen)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected = getattr(kernels, op)(x, w, padding=1, backend="torch")
        out = getattr(kernels, op)(x.to(device), w.to(device), padding=1, backend=backend)
    assert out.dtype == expected.dtype == torch.bfloat16
    exact = getattr(kernels, op)(x.bfloat16().double(), w.bfloat16().double(), padding=1, backend="torch")
    torch.testing.assert_close(out.cpu().double(), exact, **BF16)


@pytest.mark.parametrize("backend", params())
def test_unbatched_input_matches_f_conv2d(backend):
    device = device_of(backend)
    gen = torch.Generator().manual_seed(4)
    x, w, b = torch.randn(3, 7, 6, generator=gen), torch.randn(4, 3, 3, 2, generator=gen), torch.randn(4, generator=gen)
    out = kernels.conv2d(x.to(device), w.to(device), b.to(device), stride=(2, 1), padding=1, backend=backend)
    expected = F.conv2d(x, w, b, stride=(2, 1), padding=1)
    assert out.shape == expected.shape == (4, 4, 7)
    torch.testing.assert_close(out.cpu(), expected, rtol=1e-5, atol=1e-5)
