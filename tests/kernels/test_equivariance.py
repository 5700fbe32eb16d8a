"""Equivariance suite for the group convolutions p4_lift, p4_conv, p4m_lift, p4m_conv.

The laws (DESIGN.md, "Group conventions"): for every group element u,

    lift(u · x) == u · lift(x)        group_conv(u · f) == u · group_conv(f)

where u acts on an image by rot90/flip and on a group feature map (N, C, G, H, W) by transforming
every image and permuting the group axis (kernels/groups.py). They hold for odd k, padding k//2 or
0, a square input, and stride s with (H + 2·padding − k) % s == 0; a control case shows a stride
that breaks the condition also breaks the law, so the suite is not vacuous.

Also: the expanded-filter reference agrees with the definitions written as explicit loops (with
its own cross-correlation, own image action, and g⁻¹h found by matching transformed probe images,
not from the multiplication table); gradients flow (gradcheck); group pooling gives invariance; a
small p4m G-CNN is invariant to all 8 transformations of its input; bad input raises.

The laws, group pooling and the G-CNN invariance run for every group backend `kernels.group_backends()`
reports available ("torch", the reference, and the fused "cpp", "cuda", "triton" where they run); the
Triton interpreter is slow, so it gets a short list of cases. A backend that is not available must
refuse with its reason rather than fall back silently. (Conformance of the fused backends to the
reference, gradients included: tests/kernels/test_group_backends.py.)

Tolerances, absolute and relative, on outputs of size ~1 (inputs N(0, 1), weights scaled by
1/sqrt(fan-in)): float64 1e-10, float32 1e-5. Both sides of each law are the same sums in another
order, so the error is rounding only (~1e-16 and ~1e-7 per term).
"""
from __future__ import annotations

import importlib
import itertools
import re

import pytest
import torch
import torch.nn.functional as F

import kernels
from kernels.group_reference import expand_group_filters, expand_lift_filters
from kernels.groups import P4, P4M

OPS = {  # name: (function, group, lifting)
    "p4_lift": (kernels.p4_lift, P4, True),
    "p4_conv": (kernels.p4_conv, P4, False),
    "p4m_lift": (kernels.p4m_lift, P4M, True),
    "p4m_conv": (kernels.p4m_conv, P4M, False),
}
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}
GROUP_BACKENDS = kernels.group_backends()
BACKENDS = [name for name, (ok, _) in GROUP_BACKENDS.items() if ok]
SLOW_BACKENDS = {"triton"}  # the interpreter on a CPU: a few cases only
# (H, k, padding, stride), each with (H + 2*padding - k) % stride == 0
LAW_CASES = {
    "k3_same": (9, 3, 1, 1),
    "k3_valid": (9, 3, 0, 1),
    "k5_same_stride2": (9, 5, 2, 2),
    "k3_valid_stride2": (9, 3, 0, 2),
    "k1": (7, 1, 0, 1),
    "k5_valid_stride3": (11, 5, 0, 3),
    "even_image_k3_same": (8, 3, 1, 1),
    "even_image_k3_same_stride3": (10, 3, 1, 3),
}


def make_inputs(op, dtype, h, k, n=2, cin=2, cout=3, w=None, seed=0):
    """Random input, weight and bias for `op`, with outputs of size ~1."""
    _, group, lifting = OPS[op]
    gen = torch.Generator().manual_seed(seed)
    g_axis = () if lifting else (group.order,)
    x = torch.randn(n, cin, *g_axis, h, w or h, generator=gen, dtype=torch.float64)
    fan_in = cin * (1 if lifting else group.order) * k * k
    weight = torch.randn(cout, cin, *g_axis, k, k, generator=gen, dtype=torch.float64) / fan_in**0.5
    bias = torch.randn(cout, generator=gen, dtype=torch.float64)
    return x.to(dtype), weight.to(dtype), bias.to(dtype)


def transform_input(op, x, u):
    _, group, lifting = OPS[op]
    return group.act_on_image(x, u) if lifting else group.act_on_feature_map(x, u)


SLOW_LAW_CASES = ["k3_same", "k3_valid_stride2"]


def backend_device(backend) -> torch.device:
    return torch.device(getattr(importlib.import_module(kernels.GROUP_BACKEND_MODULES[backend]), "DEVICE", None) or "cpu")


def backend_dtypes(backend):
    return getattr(importlib.import_module(kernels.GROUP_BACKEND_MODULES[backend]), "SUPPORTED_DTYPES", tuple(TOLERANCE))


def per_backend(cases, slow_cases):
    """pytest params (backend, *case) for every available backend, fewer for the slow ones."""
    return [
        pytest.param(name, *case, id="-".join([name, *(str(v).replace("torch.", "") for v in case)]))
        for name in BACKENDS
        for case in (slow_cases if name in SLOW_BACKENDS else cases)
        if not any(isinstance(v, torch.dtype) and v not in backend_dtypes(name) for v in case)
    ]


def equivariance_errors(op, dtype, case, backend="torch"):
    """{u: max |op(u·x) − u·op(x)|} over all group elements u."""
    function, group, _ = OPS[op]
    h, k, padding, stride = case
    x, weight, bias = (t.to(backend_device(backend)) for t in make_inputs(op, dtype, h, k))
    y = function(x, weight, bias, stride=stride, padding=padding, backend=backend)
    errors = {}
    for u in group.elements:
        y_u = function(transform_input(op, x, u), weight, bias, stride=stride, padding=padding, backend=backend)
        errors[u] = (y_u - group.act_on_feature_map(y, u)).abs().max().item()
    return errors


@pytest.mark.parametrize("backend, op, dtype, case", per_backend(
    [(op, dtype, case) for op in OPS for dtype in TOLERANCE for case in LAW_CASES],
    [(op, torch.float32, case) for op in OPS for case in SLOW_LAW_CASES],
))
def test_equivariance_law_holds_for_every_group_element(backend, op, dtype, case):
    errors = equivariance_errors(op, dtype, LAW_CASES[case], backend)
    worst = max(errors, key=errors.get)
    assert errors[worst] <= TOLERANCE[dtype], f"{backend} {op} {case}: element {worst} off by {errors[worst]:.3g}"


@pytest.mark.parametrize("op", list(OPS))
def test_equivariance_breaks_when_the_stride_does_not_divide(op):
    """Control: H=8, k=3, padding 1, stride 2: (8 + 2 − 3) % 2 == 1, the sampling grid is not symmetric."""
    errors = equivariance_errors(op, torch.float64, (8, 3, 1, 2))
    assert max(errors.values()) > 1e-2


# --- the definitions, written out independently -------------------------------------------------------


def design_action(x, g):
    """g = 4*m + r: flip m times (last axis), then rot90 r times, as DESIGN.md says."""
    m, r = divmod(g, 4)
    return torch.rot90(torch.flip(x, dims=(-1,)) if m else x, r, dims=(-2, -1))


def undo_action(x, g):
    m, r = divmod(g, 4)
    x = torch.rot90(x, -r, dims=(-2, -1))
    return torch.flip(x, dims=(-1,)) if m else x


def inverse_times(order):
    """table[g][h] = g⁻¹h, found by which element's action matches "do h, then undo g" on a probe."""
    probe = torch.arange(25.0).reshape(5, 5)
    images = [design_action(probe, e) for e in range(order)]

    def which(image):
        (match,) = [e for e in range(order) if torch.equal(images[e], image)]
        return match

    return [[which(undo_action(images[h], g)) for h in range(order)] for g in range(order)]


def cross_correlate(x, w, stride, padding):
    """(N, H, W) ⋆ (k, k), summing shifted strided slices of the zero-padded input."""
    k = w.shape[-1]
    x = F.pad(x, (padding, padding, padding, padding))
    ho = (x.shape[-2] - k) // stride + 1
    wo = (x.shape[-1] - k) // stride + 1
    out = torch.zeros(x.shape[0], ho, wo, dtype=x.dtype)
    for a, b in itertools.product(range(k), repeat=2):
        out += w[a, b] * x[:, a : a + stride * (ho - 1) + 1 : stride, b : b + stride * (wo - 1) + 1 : stride]
    return out


def direct_lift(x, weight, bias, stride, padding, order):
    cout, cin = weight.shape[:2]
    return torch.stack([
        torch.stack([
            sum(cross_correlate(x[:, i], design_action(weight[o, i], g), stride, padding) for i in range(cin)) + bias[o]
            for g in range(order)
        ], dim=1)
        for o in range(cout)
    ], dim=1)


def direct_group_conv(f, weight, bias, stride, padding, order):
    cout, cin = weight.shape[:2]
    g_inv_h = inverse_times(order)
    return torch.stack([
        torch.stack([
            sum(
                cross_correlate(f[:, i, h], design_action(weight[o, i, g_inv_h[g][h]], g), stride, padding)
                for i in range(cin)
                for h in range(order)
            ) + bias[o]
            for g in range(order)
        ], dim=1)
        for o in range(cout)
    ], dim=1)


DEFINITION_CASES = {  # (H, W, k, padding, stride)
    "k3_same": (6, 6, 3, 1, 1),
    "k3_valid_non_square_image": (6, 7, 3, 0, 1),
    "k2_even_kernel_stride2": (7, 5, 2, 1, 2),
    "k5_padding1_stride3": (8, 8, 5, 1, 3),
}


@pytest.mark.parametrize("case", list(DEFINITION_CASES))
@pytest.mark.parametrize("op", list(OPS))
def test_reference_matches_the_definitions_written_as_loops(op, case):
    function, group, lifting = OPS[op]
    h, w, k, padding, stride = DEFINITION_CASES[case]
    x, weight, bias = make_inputs(op, torch.float64, h, k, w=w, seed=3)
    direct = (direct_lift if lifting else direct_group_conv)(x, weight, bias, stride, padding, group.order)
    out = function(x, weight, bias, stride=stride, padding=padding)
    torch.testing.assert_close(out, direct, rtol=1e-12, atol=1e-12)


def test_expanded_filter_banks_have_the_documented_layout():
    """Row o*G + g of the lift bank is g·w[o]; entry [o*G + g, i*G + h] of the group bank is g·w[o, i, g⁻¹h]."""
    gen = torch.Generator().manual_seed(4)
    w_lift = torch.randn(3, 2, 3, 3, generator=gen, dtype=torch.float64)
    w_group = torch.randn(3, 2, 8, 3, 3, generator=gen, dtype=torch.float64)
    lift_bank, group_bank = expand_lift_filters(w_lift, "p4m"), expand_group_filters(w_group, P4M)
    assert lift_bank.shape == (24, 2, 3, 3) and group_bank.shape == (24, 16, 3, 3)
    g_inv_h = inverse_times(8)
    for o, g in itertools.product(range(3), range(8)):
        assert torch.equal(lift_bank[o * 8 + g], design_action(w_lift[o], g))
        for i, h in itertools.product(range(2), range(8)):
            assert torch.equal(group_bank[o * 8 + g, i * 8 + h], design_action(w_group[o, i, g_inv_h[g][h]], g))


def test_p4_is_the_rotation_half_of_p4m():
    x, weight, bias = make_inputs("p4_lift", torch.float64, 7, 3)
    torch.testing.assert_close(
        kernels.p4_lift(x, weight, bias, padding=1), kernels.p4m_lift(x, weight, bias, padding=1)[:, :, :4]
    )


def test_padding_same_is_padding_k_over_2_for_odd_kernels():
    x, weight, bias = make_inputs("p4m_conv", torch.float64, 6, 3)
    torch.testing.assert_close(kernels.p4m_conv(x, weight, bias, padding="same"), kernels.p4m_conv(x, weight, bias, padding=1))


# --- gradients -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", list(OPS))
def test_gradcheck_input_weight_bias(op):
    function, _, _ = OPS[op]
    x, weight, bias = (t.requires_grad_() for t in make_inputs(op, torch.float64, 4, 3, n=1, cin=1, cout=2, seed=5))
    assert torch.autograd.gradcheck(lambda *a: function(*a, stride=1, padding=1), (x, weight, bias))


@pytest.mark.parametrize("op", ["p4_conv", "p4m_conv"])
def test_weight_gradient_sums_over_the_tied_copies(op):
    """d/dw of <out, grad> equals the expanded bank's gradient pulled back through the weight tying."""
    function, group, _ = OPS[op]
    x, weight, bias = make_inputs(op, torch.float64, 5, 3, seed=6)
    weight.requires_grad_()
    grad = torch.randn(2, 3, group.order, 5, 5, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    (function(x, weight, bias, padding=1) * grad).sum().backward()
    bank = expand_group_filters(weight.detach(), group).requires_grad_()
    out = F.conv2d(x.flatten(1, 2), bank, bias.repeat_interleave(group.order), padding=1)
    (out.reshape(grad.shape) * grad).sum().backward()
    # Tying: the parameter's gradient is the sum over the copies of their gradients, mapped back by g⁻¹.
    copies = bank.grad.reshape(3, group.order, 2, group.order, 3, 3)
    pulled_back = sum(group.act_on_feature_map(copies[:, g], group.inverse(g)) for g in group.elements)
    torch.testing.assert_close(weight.grad, pulled_back, rtol=1e-12, atol=1e-12)


# --- invariance ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend, op, pool", per_backend(
    [(op, pool) for op in OPS for pool in ("max", "mean")], [(op, "max") for op in ("p4_lift", "p4m_conv")]
))
def test_group_pooling_gives_invariance(backend, op, pool):
    """Pooling over the group axis leaves a map that only moves with the input (u acting on images);
    pooling over space as well leaves numbers that do not change at all."""
    function, group, _ = OPS[op]
    dtype = torch.float64 if torch.float64 in backend_dtypes(backend) else torch.float32
    tolerance = TOLERANCE[dtype]
    x, weight, bias = (t.to(backend_device(backend)) for t in make_inputs(op, dtype, 7, 3, seed=8))

    def pooled(inp):
        out = function(inp, weight, bias, padding=1, backend=backend)
        return out.amax(dim=2) if pool == "max" else out.mean(dim=2)

    y = pooled(x)
    for u in group.elements:
        y_u = pooled(transform_input(op, x, u))
        torch.testing.assert_close(y_u, group.act_on_image(y, u), rtol=tolerance, atol=tolerance)
        torch.testing.assert_close(y_u.amax(dim=(-2, -1)), y.amax(dim=(-2, -1)), rtol=tolerance, atol=tolerance)


def small_gcnn(x, params, backend="torch"):
    """lift → ReLU → group conv → ReLU → mean over the group axis → max over space: (N, C)."""
    (w1, b1), (w2, b2) = params
    y = torch.relu(kernels.p4m_lift(x, w1, b1, padding=1, backend=backend))
    y = torch.relu(kernels.p4m_conv(y, w2, b2, padding=2, backend=backend))
    return y.mean(dim=2).amax(dim=(-2, -1))


@pytest.mark.parametrize("backend", BACKENDS)
def test_small_gcnn_is_invariant_to_all_8_transformations(backend):
    gen = torch.Generator().manual_seed(9)
    # The interpreter gets a smaller image and batch; the network is the same.
    n, size = (1, 7) if backend in SLOW_BACKENDS else (4, 15)
    x = torch.randn(n, 3, size, size, generator=gen)
    params = [
        (torch.randn(6, 3, 3, 3, generator=gen) / 27**0.5, torch.randn(6, generator=gen) * 0.1),
        (torch.randn(5, 6, 8, 5, 5, generator=gen) / (6 * 8 * 25) ** 0.5, torch.randn(5, generator=gen) * 0.1),
    ]
    device = backend_device(backend)
    x = x.to(device)
    params = [(w.to(device), b.to(device)) for w, b in params]
    y = small_gcnn(x, params, backend)
    assert y.std() > 0.1  # not a constant network
    for u in P4M.elements:
        torch.testing.assert_close(small_gcnn(P4M.act_on_image(x, u), params, backend), y, rtol=1e-5, atol=1e-5)


# --- bad input and backends ---------------------------------------------------------------------------


def t(*shape, dtype=torch.float32, device="cpu"):
    return torch.ones(shape, dtype=dtype, device=device)


BAD_CALLS = {
    "lift_input_rank_5": (lambda: kernels.p4_lift(t(1, 2, 4, 6, 6), t(3, 2, 3, 3)), ValueError, "input must have 4"),
    "lift_weight_rank_5": (lambda: kernels.p4m_lift(t(1, 2, 6, 6), t(3, 2, 8, 3, 3)), ValueError, "weight must have 4"),
    "conv_input_rank_4": (lambda: kernels.p4_conv(t(1, 2, 6, 6), t(3, 2, 4, 3, 3)), ValueError, "input must have 5"),
    "conv_weight_rank_4": (lambda: kernels.p4_conv(t(1, 2, 4, 6, 6), t(3, 2, 3, 3)), ValueError, "weight must have 5"),
    "p4m_input_with_p4_group_axis": (lambda: kernels.p4m_conv(t(1, 2, 4, 6, 6), t(3, 2, 8, 3, 3)), ValueError, "input.*group axis of size 8"),
    "p4_weight_with_p4m_group_axis": (lambda: kernels.p4_conv(t(1, 2, 4, 6, 6), t(3, 2, 8, 3, 3)), ValueError, "weight.*group axis of size 4"),
    "channel_mismatch": (lambda: kernels.p4_conv(t(1, 3, 4, 6, 6), t(3, 2, 4, 3, 3)), ValueError, "channels"),
    "lift_channel_mismatch": (lambda: kernels.p4m_lift(t(1, 3, 6, 6), t(3, 2, 3, 3)), ValueError, "channels"),
    "kernel_not_square": (lambda: kernels.p4_lift(t(1, 2, 6, 6), t(3, 2, 3, 2)), ValueError, "square"),
    "bias_wrong_size": (lambda: kernels.p4_lift(t(1, 2, 6, 6), t(3, 2, 3, 3), t(12)), ValueError, "bias"),
    "bias_rank_2": (lambda: kernels.p4_lift(t(1, 2, 6, 6), t(3, 2, 3, 3), t(3, 4)), ValueError, "bias"),
    "mixed_dtypes": (lambda: kernels.p4_lift(t(1, 2, 6, 6), t(3, 2, 3, 3, dtype=torch.float64)), TypeError, "weight"),
    "integer_input": (lambda: kernels.p4_lift(t(1, 2, 6, 6, dtype=torch.int64), t(3, 2, 3, 3)), TypeError, "input"),
    "input_not_a_tensor": (lambda: kernels.p4m_lift([[1.0]], t(3, 2, 3, 3)), TypeError, "input"),
    "mixed_devices": (lambda: kernels.p4_lift(t(1, 2, 6, 6), t(3, 2, 3, 3, device="meta")), ValueError, "weight"),
    "stride_zero": (lambda: kernels.p4_lift(t(1, 2, 6, 6), t(3, 2, 3, 3), stride=0), ValueError, "stride"),
    "negative_padding": (lambda: kernels.p4m_conv(t(1, 2, 8, 6, 6), t(3, 2, 8, 3, 3), padding=-1), ValueError, "padding"),
    "kernel_larger_than_padded_input": (lambda: kernels.p4_conv(t(1, 2, 4, 2, 2), t(3, 2, 4, 3, 3)), ValueError, "padded input"),
    "same_with_stride": (lambda: kernels.p4_lift(t(1, 2, 6, 6), t(3, 2, 3, 3), stride=2, padding="same"), ValueError, "same"),
    "unknown_backend": (lambda: kernels.p4_lift(t(1, 2, 6, 6), t(3, 2, 3, 3), backend="numpy"), ValueError, "backend"),
    "backend_not_a_string": (lambda: kernels.p4_lift(t(1, 2, 6, 6), t(3, 2, 3, 3), backend=None), TypeError, "backend"),
}


@pytest.mark.parametrize("bad", list(BAD_CALLS))
def test_bad_input_raises_error_naming_the_argument(bad):
    call, error, named = BAD_CALLS[bad]
    with pytest.raises(error, match=named):
        call()


UNAVAILABLE = {name: reason for name, (ok, reason) in GROUP_BACKENDS.items() if not ok}


@pytest.mark.parametrize("backend", list(UNAVAILABLE) or [pytest.param(None, marks=pytest.mark.skip(
    reason="every group backend is available here"))])
@pytest.mark.parametrize("op", list(OPS))
def test_unavailable_group_backends_refuse_with_the_reason(op, backend):
    function, _, _ = OPS[op]
    x, weight, bias = make_inputs(op, torch.float32, 5, 3)
    reason = UNAVAILABLE[backend]
    assert reason, f"{backend} is unavailable without saying why"
    with pytest.raises(ValueError, match=f"backend='{backend}' is not available for {op} here: {re.escape(reason)}"):
        function(x, weight, bias, backend=backend)


def test_every_group_backend_reports_a_status():
    assert set(GROUP_BACKENDS) == {"torch", "triton", "cpp", "cuda"}
    assert GROUP_BACKENDS["torch"] == (True, "")
    for name, (ok, reason) in GROUP_BACKENDS.items():
        assert (reason == "") == ok, (name, reason)


def test_auto_and_torch_backends_agree():
    x, weight, bias = make_inputs("p4m_conv", torch.float32, 6, 3)
    torch.testing.assert_close(
        kernels.p4m_conv(x, weight, bias, padding=1), kernels.p4m_conv(x, weight, bias, padding=1, backend="torch")
    )


def test_empty_batch_gives_an_empty_result():
    x, weight, bias = make_inputs("p4_conv", torch.float32, 6, 3, n=0)
    assert kernels.p4_conv(x, weight, bias, padding=1).shape == (0, 3, 4, 6, 6)
