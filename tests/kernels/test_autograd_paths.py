"""Every autograd path of conv2d and the four group convolutions, on every backend, against the reference.

The reference is backend "torch": `F.conv2d` for conv2d, the expanded filter bank and `F.conv2d` for the
group convolutions (kernels/group_reference.py), both differentiable by PyTorch itself in every way.
For each available backend and each operation, in float64 on tiny shapes (the Triton interpreter is slow):

- second derivatives: `gradgradcheck` (finite differences of our backward against our double backward;
  entry by entry for "cpp", in fast mode (random projections of the Jacobians) for the others),
  and a gradient penalty ‖∂L/∂x‖² + ‖∂L/∂w‖² differentiated again, compared with the reference;
- forward mode: `torch.autograd.forward_ad` dual tensors and `torch.func.jvp`, tangents compared;
- `torch.func`: grad, jacrev, jacfwd, hessian and vmap (batched input, weight, bias, and all three);
- the operators themselves (`torch.ops.conv_circuits.*`, `torch.ops.kernels_triton.*`, the route
  `torch.compile` takes): `gradgradcheck` through the dispatcher.

The Triton interpreter is slow: it runs each test on a few of the operations (named per test), and
its longest checks are marked slow.

A zero where a derivative should be, or the warning PyTorch gives instead of a missing derivative,
fails (tests/kernels/conftest.py turns that warning into an error). Tolerance 1e-9: float64 on both
sides, sums of fewer than 300 terms, differing only in the order of additions.
"""
from __future__ import annotations

import pytest
import torch
from torch.autograd import forward_ad

import kernels

TOLERANCE = dict(rtol=1e-9, atol=1e-9)
GROUP_ORDER = {"p4_lift": 4, "p4_conv": 4, "p4m_lift": 8, "p4m_conv": 8}
OPS = ["conv2d", *GROUP_ORDER]


def call(op, backend):
    """op(x, w, b) on `backend` with a geometry that exercises stride, padding and (conv2d) dilation and groups."""
    if op == "conv2d":
        return lambda x, w, b: kernels.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2,
                                              backend=backend)
    return lambda x, w, b: getattr(kernels, op)(x, w, b, stride=(1, 2), padding=1, backend=backend)


def make_inputs(op, seed=0, n=1):
    """Tiny float64 (input, weight, bias) for `op`."""
    gen = torch.Generator().manual_seed(seed)
    if op == "conv2d":
        shapes = ((n, 2, 4, 5), (2, 1, 2, 2), (2,))
    elif op.endswith("_lift"):
        shapes = ((n, 1, 4, 4), (2, 1, 3, 3), (2,))
    else:
        g = GROUP_ORDER[op]
        shapes = ((n, 1, g, 3, 3), (1, 1, g, 2, 2), (1,))
    return tuple(torch.randn(shape, generator=gen, dtype=torch.float64) for shape in shapes)


SLOW_BACKENDS = {"triton"}  # the interpreter on a CPU: only the ops named per test, see backend_params


def backend_params(slow_ops=OPS, slow_mark=False):
    """(op, backend) for every op and backend (a slow backend: `slow_ops` only, maybe marked slow).

    An unavailable backend is skipped with its reason.
    """
    conv2d_status, group_status = kernels.backends(), kernels.group_backends()
    params = []
    for op in OPS:
        for name, (ok, reason) in (conv2d_status if op == "conv2d" else group_status).items():
            if ok and torch.float64 not in kernels.backend_module(name, group=op != "conv2d").SUPPORTED_DTYPES:
                ok, reason = False, "no float64"
            slow = name in SLOW_BACKENDS and ok
            if slow and op not in slow_ops:
                continue
            marks = [pytest.mark.slow] if slow and slow_mark else []
            if not ok:
                marks.append(pytest.mark.skip(reason=f"backend {name!r} unavailable: {reason}"))
            params.append(pytest.param(op, name, id=f"{op}-{name}", marks=marks))
    return params


def close(actual, expected, what):
    torch.testing.assert_close(actual, expected, **TOLERANCE, msg=lambda m: f"{what}: {m}")


def device_of(backend, op):
    return torch.device(getattr(kernels.backend_module(backend, group=op != "conv2d"), "DEVICE", None) or "cpu")


@pytest.mark.parametrize("op, backend", backend_params())
def test_gradgradcheck(op, backend):
    inputs = [t.to(device_of(backend, op)).requires_grad_() for t in make_inputs(op)]
    # every Jacobian entry for cpp; elsewhere fast_mode (random projections v·J·u): seconds, not minutes
    assert torch.autograd.gradgradcheck(call(op, backend), inputs, fast_mode=backend != "cpp")


def gradient_penalty_gradients(f, inputs):
    """d/d(inputs) of ‖∂L/∂x‖² + ‖∂L/∂w‖² with L = Σ f(x, w, b)² (a gradient penalty: needs double backward)."""
    leaves = [t.detach().clone().requires_grad_() for t in inputs]
    loss = f(*leaves).square().sum()
    grad_x, grad_w = torch.autograd.grad(loss, leaves[:2], create_graph=True)
    penalty = grad_x.square().sum() + grad_w.square().sum()
    return torch.autograd.grad(penalty, leaves)


@pytest.mark.parametrize("op, backend", backend_params(slow_ops=("conv2d", "p4_lift", "p4m_conv")))
def test_double_backward_matches_the_reference(op, backend):
    inputs = [t.to(device_of(backend, op)) for t in make_inputs(op, seed=1)]
    ours = gradient_penalty_gradients(call(op, backend), inputs)
    expected = gradient_penalty_gradients(call(op, "torch"), [t.cpu() for t in inputs])
    for what, actual, reference in zip(("input", "weight", "bias"), ours, expected):
        assert reference.abs().max() > 0, f"{what}: the reference itself is zero, the check would be empty"
        close(actual.cpu(), reference, f"second derivative w.r.t. {what}")


@pytest.mark.parametrize("op, backend", backend_params())
def test_forward_mode_matches_the_reference(op, backend):
    primals = make_inputs(op, seed=2)
    tangents = make_inputs(op, seed=3)
    device = device_of(backend, op)
    results = {}
    for name in (backend, "torch"):
        here = device if name == backend else torch.device("cpu")
        with forward_ad.dual_level():
            duals = [forward_ad.make_dual(p.to(here), t.to(here)) for p, t in zip(primals, tangents)]
            unpacked = forward_ad.unpack_dual(call(op, name)(*duals))
            assert unpacked.tangent is not None, f"{name}: no tangent (forward mode AD silently unsupported)"
            results[name] = (unpacked.primal.cpu(), unpacked.tangent.cpu())
    close(results[backend][0], results["torch"][0], "primal")
    close(results[backend][1], results["torch"][1], "tangent")

    out, tangent = torch.func.jvp(call(op, backend), tuple(p.to(device) for p in primals), tuple(t.to(device) for t in tangents))
    close(tangent.cpu(), results["torch"][1], "torch.func.jvp tangent")


@pytest.mark.parametrize("op, backend", backend_params(slow_ops=("conv2d", "p4m_lift"), slow_mark=True))
def test_func_grad_jacrev_jacfwd_match_the_reference(op, backend):
    device = device_of(backend, op)
    inputs = make_inputs(op, seed=4)

    def loss(name):
        return lambda x, w, b: call(op, name)(x, w, b).square().sum()

    ours = torch.func.grad(loss(backend), argnums=(0, 1, 2))(*(t.to(device) for t in inputs))
    expected = torch.func.grad(loss("torch"), argnums=(0, 1, 2))(*inputs)
    for what, actual, reference in zip(("input", "weight", "bias"), ours, expected):
        close(actual.cpu(), reference, f"torch.func.grad w.r.t. {what}")
    for transform in (torch.func.jacrev, torch.func.jacfwd):
        ours = transform(call(op, backend), argnums=(0, 1))(*(t.to(device) for t in inputs))
        expected = transform(call(op, "torch"), argnums=(0, 1))(*inputs)
        for what, actual, reference in zip(("input", "weight"), ours, expected):
            close(actual.cpu(), reference, f"{transform.__name__} w.r.t. {what}")


@pytest.mark.parametrize("op, backend", backend_params(slow_ops=("conv2d",), slow_mark=True))
def test_hessian_matches_the_reference(op, backend):
    """torch.func.hessian = jacfwd(jacrev): forward mode through the backward pass."""
    device = device_of(backend, op)
    x, w, b = make_inputs(op, seed=5)

    def loss(name):
        return lambda w: call(op, name)(x.to(w.device), w, b.to(w.device)).square().sum()

    close(torch.func.hessian(loss(backend))(w.to(device)).cpu(), torch.func.hessian(loss("torch"))(w), "hessian")


VMAP_CASES = {  # which of (input, weight, bias) carry the batch
    "input": (0, None, None),
    "weight": (None, 0, None),
    "bias": (None, None, 0),
    "weight_and_bias": (None, 0, 0),
    "all": (0, 0, 0),
}


@pytest.mark.parametrize("batched", list(VMAP_CASES))
@pytest.mark.parametrize("op, backend", backend_params(slow_ops=("conv2d", "p4_conv")))
def test_vmap_matches_a_loop_of_reference_calls(op, backend, batched):
    in_dims = VMAP_CASES[batched]
    device = device_of(backend, op)
    samples = [make_inputs(op, seed=10 + i) for i in range(3)]
    stacked = [torch.stack([s[i] for s in samples]) if d == 0 else samples[0][i] for i, d in enumerate(in_dims)]
    ours = torch.func.vmap(call(op, backend), in_dims=in_dims)(*(t.to(device) for t in stacked))
    expected = torch.stack([
        call(op, "torch")(*(s[i] if d == 0 else samples[0][i] for i, d in enumerate(in_dims))) for s in samples
    ])
    close(ours.cpu(), expected, f"vmap over {batched}")


def operator_routes():
    """(family name, backend) for the operators that torch.compile calls: the C++ ones and the Triton ones."""
    routes = []
    for backend in ("cpp", "triton"):
        ok, reason = kernels.backends()[backend]
        for family in ("conv2d", "group"):
            marks = () if ok else pytest.mark.skip(reason=f"backend {backend!r} unavailable: {reason}")
            routes.append(pytest.param(family, backend, id=f"{family}-{backend}", marks=marks))
    return routes


def operator_family(family, backend):
    if backend == "cpp":
        from kernels import extension

        return extension.conv2d_family() if family == "conv2d" else extension.group_family()
    from kernels.triton import registration

    return registration.CONV2D if family == "conv2d" else registration.GROUP


@pytest.mark.parametrize("family, backend", operator_routes())
def test_operators_have_second_derivatives_through_the_dispatcher(family, backend):
    ops = operator_family(family, backend)
    device = device_of(backend, "conv2d")
    op = "conv2d" if family == "conv2d" else "p4_conv"
    x, w, b = (t.to(device).requires_grad_() for t in make_inputs(op, seed=6))
    geometry = ([2, 1], [1, 1], [1, 2], 2) if family == "conv2d" else (4, [1, 2], [1, 1])
    assert torch.autograd.gradgradcheck(lambda x, w, b: ops.forward_op(x, w, b, *geometry), (x, w, b),
                                        fast_mode=backend in SLOW_BACKENDS)


def test_a_missing_derivative_fails_the_suite():
    """The guard of conftest.py is live: an operator without autograd makes backward raise here, not warn."""
    library = torch.library.Library("autograd_paths_test", "FRAGMENT")
    library.define("double_it(Tensor x) -> Tensor")
    library.impl("double_it", lambda x: 2 * x, "CPU")
    x = torch.ones(3, requires_grad=True)
    with pytest.raises(UserWarning, match="autograd kernel was not registered"):
        torch.ops.autograd_paths_test.double_it(x).sum().backward()
