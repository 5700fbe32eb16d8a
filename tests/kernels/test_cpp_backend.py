"""The C++ CPU backend (kernels/cpp_backend.py) against torch.nn.functional.conv2d.

Both algorithms are checked: "packed" (the fast path) and "direct" (the readable loops). The group
convolutions' readable loops (cpp_group.group_conv(..., algorithm="direct"), cpu/group_conv_direct.cpp)
are checked here too, against the expanded-filter reference (the fast path has its own suite,
tests/kernels/test_group_backends.py).
Outputs are poisoned (CONV_CIRCUITS_POISON_OUTPUTS=1 fills them with NaN before the kernel
runs), so an element a kernel forgets to write fails the comparison.

Tolerances:
- float64: rtol=atol=1e-10. Each output is a sum of at most a few thousand products of
  unit-scale numbers; float64 rounding leaves errors near 1e-13, so 1e-10 only fails on
  a real bug.
- float32: rtol=atol=1e-4. Rounding in a sum of n terms grows like sqrt(n) * 6e-8 * |terms|;
  with n <= 600 and values of order 1-10 that is below 1e-5, and summation order differs
  from oneDNN's, so 1e-4 leaves a margin without hiding an index error (which is O(1)).
"""
import random

import pytest
import torch
import torch.nn.functional as F

import kernels
from kernels import cpp_backend, cpp_group
from kernels.groups import P4, P4M

ok, why = cpp_backend.available()
pytestmark = pytest.mark.skipif(not ok, reason=f"cpp backend unavailable: {why}")

TOLERANCE = {torch.float64: dict(rtol=1e-10, atol=1e-10), torch.float32: dict(rtol=1e-4, atol=1e-4)}
ALGORITHMS = ["packed", "direct"]


@pytest.fixture(autouse=True)
def poisoned_outputs(monkeypatch):
    monkeypatch.setenv("CONV_CIRCUITS_POISON_OUTPUTS", "1")


# (N, C, H, W, K, R, S, stride, padding, dilation, groups)
EDGE_CASES = {
    "one_by_one": (2, 5, 6, 7, 3, 1, 1, (1, 1), (0, 0), (1, 1), 1),
    "kernel_equals_padded_input": (2, 3, 4, 5, 4, 6, 7, (1, 1), (1, 1), (1, 1), 1),
    "stride_larger_than_kernel": (2, 3, 11, 10, 4, 2, 2, (3, 4), (0, 1), (1, 1), 1),
    "dilation_with_padding": (1, 2, 9, 9, 3, 3, 3, (1, 1), (2, 3), (2, 3), 1),
    "groups": (2, 6, 7, 7, 9, 3, 3, (1, 1), (1, 1), (1, 1), 3),
    "depthwise": (2, 4, 8, 6, 4, 3, 3, (2, 1), (1, 1), (1, 1), 4),
    "depthwise_strided_dilated": (2, 3, 9, 10, 3, 3, 2, (2, 3), (2, 1), (2, 2), 3),
    "depthwise_stride_one_dilated": (2, 4, 7, 9, 4, 3, 2, (1, 1), (1, 2), (2, 2), 4),
    "depthwise_multiplier": (1, 3, 8, 8, 6, 3, 2, (1, 1), (1, 0), (1, 1), 3),
    "batch_of_one_rectangular": (1, 3, 5, 13, 2, 2, 4, (1, 2), (1, 2), (1, 1), 1),
    "many_channels_long_reduction": (1, 40, 6, 6, 20, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    "output_wider_than_a_tile": (1, 2, 3, 70, 17, 1, 3, (1, 1), (0, 1), (1, 1), 1),
}


def random_case(rng):
    groups = rng.choice([1, 1, 2, 3])
    C, K = groups * rng.randint(1, 4), groups * rng.randint(1, 5)
    R, S = rng.randint(1, 4), rng.randint(1, 4)
    stride, dilation = (rng.randint(1, 3), rng.randint(1, 3)), (rng.randint(1, 2), rng.randint(1, 2))
    padding = (rng.randint(0, 2), rng.randint(0, 2))
    H = max(dilation[0] * (R - 1) + 1 - 2 * padding[0], 1) + rng.randint(0, 8)
    W = max(dilation[1] * (S - 1) + 1 - 2 * padding[1], 1) + rng.randint(0, 8)
    return (rng.randint(1, 3), C, H, W, K, R, S, stride, padding, dilation, groups)


RANDOM_CASES = {f"random{i}": random_case(random.Random(i)) for i in range(12)}
CASES = {**EDGE_CASES, **RANDOM_CASES}


def make_tensors(case, dtype, seed=0, bias=True):
    N, C, H, W, K, R, S, stride, padding, dilation, groups = case
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(N, C, H, W, dtype=dtype, generator=generator)
    w = torch.randn(K, C // groups, R, S, dtype=dtype, generator=generator)
    b = torch.randn(K, dtype=dtype, generator=generator) if bias else None
    return x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups)


def run_cpp(x, w, b, args, algorithm):
    return cpp_backend.conv2d(x, w, b, args["stride"], args["padding"], args["dilation"], args["groups"],
                              algorithm=algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_forward_float64_matches_torch(case, algorithm):
    x, w, b, args = make_tensors(case, torch.float64)
    torch.testing.assert_close(run_cpp(x, w, b, args, algorithm), F.conv2d(x, w, b, **args), **TOLERANCE[torch.float64])


@pytest.mark.parametrize("case", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_forward_float32_matches_torch_in_float64(case):
    x, w, b, args = make_tensors(case, torch.float32)
    expected = F.conv2d(x.double(), w.double(), b.double(), **args).float()
    torch.testing.assert_close(run_cpp(x, w, b, args, "packed"), expected, **TOLERANCE[torch.float32])


GRADIENT_VARIANTS = [("packed", torch.float64), ("direct", torch.float64), ("packed", torch.float32)]


@pytest.mark.parametrize("algorithm, dtype", GRADIENT_VARIANTS, ids=[f"{a}-{str(d)[6:]}" for a, d in GRADIENT_VARIANTS])
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_gradients_match_torch_autograd(case, algorithm, dtype):
    x, w, b, args = make_tensors(case, dtype, seed=1)
    inputs = [t.clone().requires_grad_() for t in (x, w, b)]
    reference = [t.clone().requires_grad_() for t in (x, w, b)]
    y = run_cpp(*inputs, args, algorithm)
    grad_output = torch.randn_like(y)
    got = torch.autograd.grad(y, inputs, grad_output)
    expected = torch.autograd.grad(F.conv2d(*reference, **args), reference, grad_output)
    for name, g, e in zip(("input", "weight", "bias"), got, expected):
        torch.testing.assert_close(g, e, **TOLERANCE[dtype], msg=lambda m: f"grad {name}: {m}")


@pytest.mark.parametrize("case", ["one_by_one", "stride_larger_than_kernel", "dilation_with_padding", "groups",
                                  "depthwise"])
@pytest.mark.parametrize("bias", [True, False])
def test_gradcheck_float64_tiny(case, bias):
    N, C, H, W, K, R, S, stride, padding, dilation, groups = EDGE_CASES[case]
    tiny = (1, C, min(H, 6), min(W, 6), K, R, S, stride, padding, dilation, groups)
    x, w, b, args = make_tensors(tiny, torch.float64, bias=bias)
    tensors = tuple(t.requires_grad_() for t in (x, w, b) if t is not None)

    def f(*ts):
        return run_cpp(ts[0], ts[1], ts[2] if bias else None, args, "packed")

    assert torch.autograd.gradcheck(f, tensors)


def test_packed_equals_direct_on_a_larger_case():
    x, w, b, args = make_tensors((3, 24, 17, 19, 20, 3, 3, (1, 2), (1, 1), (1, 1), 2), torch.float64, seed=3)
    packed, direct = run_cpp(x, w, b, args, "packed"), run_cpp(x, w, b, args, "direct")
    torch.testing.assert_close(packed, direct, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", ["channels_last", "sliced"])
def test_non_contiguous_inputs(layout):
    x, w, b, args = make_tensors(EDGE_CASES["groups"], torch.float64)
    if layout == "channels_last":
        x, w = x.to(memory_format=torch.channels_last), w.to(memory_format=torch.channels_last)
    else:
        x = torch.cat([x, x], dim=3)[:, :, :, ::2]
        w = torch.cat([w, w], dim=0)[::2]
    assert not x.is_contiguous()
    torch.testing.assert_close(run_cpp(x, w, b, args, "packed"), F.conv2d(x, w, b, **args), **TOLERANCE[torch.float64])


def test_gradient_of_non_contiguous_grad_output():
    x, w, b, args = make_tensors(EDGE_CASES["depthwise"], torch.float64)
    x.requires_grad_()
    run_cpp(x, w, b, args, "packed").sum().backward()  # sum's gradient is an expanded (stride 0) tensor
    expected_x = x.detach().clone().requires_grad_()
    F.conv2d(expected_x, w, b, **args).sum().backward()
    torch.testing.assert_close(x.grad, expected_x.grad, **TOLERANCE[torch.float64])


def test_bad_geometry_raises_value_error_naming_the_problem():
    x, w = torch.randn(1, 4, 5, 5), torch.randn(2, 3, 3, 3)
    with pytest.raises(ValueError, match="input channels"):
        cpp_backend.conv2d(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    with pytest.raises(ValueError, match="larger than the padded input"):
        cpp_backend.conv2d(x, torch.randn(2, 4, 7, 7), None, (1, 1), (0, 0), (1, 1), 1)


def test_unsupported_dtype_raises_type_error():
    with pytest.raises(TypeError, match="float32 and float64"):
        cpp_backend.conv2d(torch.ones(1, 1, 3, 3, dtype=torch.int64), torch.ones(1, 1, 1, 1, dtype=torch.int64),
                           None, (1, 1), (0, 0), (1, 1), 1)


# --- the group convolutions' direct loops (cpu/group_conv_direct.cpp) -------------------------------------

# (op, N, Cin, Cout, H, W, k, stride, padding)
GROUP_CASES = {
    "p4_lift_k3": ("p4_lift", 2, 3, 2, 7, 6, 3, (1, 1), (1, 1)),
    "p4_conv_strided": ("p4_conv", 2, 2, 3, 7, 8, 3, (2, 1), (0, 1)),
    "p4m_lift_even_kernel": ("p4m_lift", 1, 2, 2, 6, 6, 2, (1, 1), (1, 0)),
    "p4m_conv_k5_wide_padding": ("p4m_conv", 2, 2, 2, 5, 6, 5, (1, 2), (2, 3)),
    "p4m_conv_k1": ("p4m_conv", 1, 3, 2, 4, 3, 1, (1, 1), (0, 0)),
}


def make_group_tensors(case, dtype, seed=0):
    op, n, cin, cout, h, w, k, stride, padding = case
    group = P4M if op.startswith("p4m") else P4
    axis = () if op.endswith("_lift") else (group.order,)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, cin, *axis, h, w, dtype=dtype, generator=generator)
    weight = torch.randn(cout, cin, *axis, k, k, dtype=dtype, generator=generator)
    bias = torch.randn(cout, dtype=dtype, generator=generator)
    return op, group.order, x, weight, bias, stride, padding


@pytest.mark.parametrize("case", GROUP_CASES.values(), ids=GROUP_CASES.keys())
def test_group_direct_output_and_gradients_match_the_reference(case):
    op, order, x, weight, bias, stride, padding = make_group_tensors(case, torch.float64)
    inputs = [t.clone().requires_grad_() for t in (x, weight, bias)]
    reference = [t.clone().requires_grad_() for t in (x, weight, bias)]
    y = cpp_group.group_conv(*inputs, stride, padding, order, algorithm="direct")
    expected = getattr(kernels, op)(*reference, stride, padding, backend="torch")
    torch.testing.assert_close(y, expected, **TOLERANCE[torch.float64])
    grad_output = torch.randn_like(y)
    got = torch.autograd.grad(y, inputs, grad_output)
    wanted = torch.autograd.grad(expected, reference, grad_output)
    for name, g, e in zip(("input", "weight", "bias"), got, wanted):
        torch.testing.assert_close(g, e, **TOLERANCE[torch.float64], msg=lambda m: f"grad {name}: {m}")


def test_group_packed_equals_direct_on_a_larger_case():
    op, order, x, weight, bias, stride, padding = make_group_tensors(("p4m_conv", 3, 5, 6, 11, 9, 3, (1, 1), (1, 1)),
                                                                     torch.float64, seed=4)
    leaves = {algorithm: [t.clone().requires_grad_() for t in (x, weight, bias)] for algorithm in ("packed", "direct")}
    outputs = {a: cpp_group.group_conv(*leaves[a], stride, padding, order, algorithm=a) for a in leaves}
    torch.testing.assert_close(outputs["packed"], outputs["direct"], rtol=1e-12, atol=1e-12)
    grad_output = torch.randn_like(outputs["packed"])
    grads = {a: torch.autograd.grad(outputs[a], leaves[a], grad_output) for a in leaves}
    for packed, direct in zip(grads["packed"], grads["direct"]):
        torch.testing.assert_close(packed, direct, rtol=1e-12, atol=1e-12)


def test_group_direct_float32_and_unknown_algorithm():
    op, order, x, weight, bias, stride, padding = make_group_tensors(GROUP_CASES["p4_lift_k3"], torch.float32)
    expected = getattr(kernels, op)(x.double(), weight.double(), bias.double(), stride, padding, backend="torch")
    got = cpp_group.group_conv(x, weight, bias, stride, padding, order, algorithm="direct")
    torch.testing.assert_close(got, expected.float(), **TOLERANCE[torch.float32])
    with pytest.raises(ValueError, match="algorithm"):
        cpp_group.group_conv(x, weight, bias, stride, padding, order, algorithm="im2col")
