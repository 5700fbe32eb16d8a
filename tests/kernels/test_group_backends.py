"""Conformance of the fused group-convolution backends ("cpp", "cuda", "triton") to the reference.

For each of p4_lift, p4_conv, p4m_lift, p4m_conv called through the public API with a fused backend:
the output and the gradients of input, weight and bias against backend="torch" (kernels/group_reference.py,
the expanded filter bank and F.conv2d), evaluated in float64 on the CPU on the very same, already
rounded, values, so only the fused kernels' own rounding counts. Every backend `kernels.group_backends()`
reports is a parameter; an unavailable one is skipped with its reason. The Triton interpreter is slow,
so "triton" gets a short list of tiny cases here (tests/kernels/test_triton_group.py covers it in depth).

Also: named edge cases (k=1, k equal to the padded input, strides 2 and 3, padding 0/1/2 and larger
than the kernel, N=1, Cin=1, Cout=1, H≠W, non-contiguous input, no bias, several register tiles) and
seeded random cases; every output element written (NaN-poisoned buffers, `kernels.poison`); gradcheck
in float64; the expansion functions of the reference are never called (patched to raise); an empty
batch; `torch.library.opcheck` on the three C++ operators; both threads of the parallel loops; and
the group section of the benchmark (`kernels.bench.group_benchmark`, `python -m kernels.bench`).

Tolerances (rtol, and atol as a fraction of the largest reference magnitude, as in test_conformance.py):
  float64  1e-10   exact to ~1e-16 per operation; the sums here have < 3000 terms
  float32  1e-5    float32 accumulation: the error grows like sqrt(terms) * 6e-8
  float16  2e-3, bfloat16 1.6e-2 (the CUDA kernels): the result is rounded to that type
"""
from __future__ import annotations

import importlib
import random
from dataclasses import dataclass, replace

import pytest
import torch

import kernels
import kernels.group_reference
from kernels.groups import P4, P4M
from kernels.poison import poisoned_outputs

OPS = {  # name: (function, group, lifting)
    "p4_lift": (kernels.p4_lift, P4, True),
    "p4_conv": (kernels.p4_conv, P4, False),
    "p4m_lift": (kernels.p4m_lift, P4M, True),
    "p4m_conv": (kernels.p4m_conv, P4M, False),
}
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}
FUSED = [name for name in kernels.GROUP_BACKEND_MODULES if name != "torch"]
AVAILABILITY = kernels.group_backends()
SLOW_BACKENDS = {"triton"}  # the interpreter on a CPU


def module_of(backend):
    return importlib.import_module(kernels.GROUP_BACKEND_MODULES[backend])


def device_of(backend) -> torch.device:
    return torch.device(getattr(module_of(backend), "DEVICE", None) or "cpu")


def supports(backend, dtype) -> bool:
    return dtype in getattr(module_of(backend), "SUPPORTED_DTYPES", (dtype,))


def cases_for_each_backend(cases, slow_cases=(), slow_backends_too=True):
    """pytest params (backend, *case) for every available fused backend; one skipped param per unavailable one."""
    params = []
    for name in FUSED:
        ok, reason = AVAILABILITY[name]
        if not ok:
            params.append(pytest.param(name, *([None] * len(cases[0])), id=f"{name}-unavailable",
                                       marks=pytest.mark.skip(reason=f"group backend {name!r} unavailable: {reason}")))
            continue
        if name in SLOW_BACKENDS and not slow_backends_too:
            continue
        for case in (slow_cases if name in SLOW_BACKENDS else cases):
            dtype = next((v for v in case if isinstance(v, torch.dtype)), None)
            if dtype is None or supports(name, dtype):
                params.append(pytest.param(name, *case, id="-".join([name, *(str(v).replace("torch.", "") for v in case)])))
    return params


@dataclass(frozen=True)
class Case:
    n: int = 2
    cin: int = 2
    cout: int = 3
    h: int = 7
    w: int = 7
    k: int = 3
    stride: int | tuple[int, int] = 1
    padding: int | tuple[int, int] = 1
    bias: bool = True
    contiguous: bool = True


EDGE_CASES = {
    "k3_padding1": Case(),
    "k1": Case(k=1, padding=0),
    "k_equals_the_padded_input": Case(h=5, w=5, k=7, padding=1),
    "stride2_padding1": Case(h=9, w=8, stride=2, padding=1),
    "stride3_padding2_k5": Case(h=11, w=10, k=5, stride=3, padding=2),
    "padding0": Case(h=8, w=8, padding=0),
    "padding2_k3": Case(h=6, w=6, padding=2),
    "padding_larger_than_the_kernel": Case(h=5, w=5, k=3, padding=3),  # CPU: the general input-gradient path
    "n1_cin1_cout1": Case(n=1, cin=1, cout=1, h=6, w=6),
    "h_not_w": Case(h=6, w=11),
    "no_bias": Case(bias=False),
    "non_contiguous_input": Case(h=6, w=9, contiguous=False),
    "stride_and_padding_pairs": Case(h=8, w=9, stride=(2, 1), padding=(0, 1)),
    "several_register_tiles": Case(n=3, cin=5, cout=9, h=12, w=13, k=3),
    "several_register_tiles_stride2": Case(n=3, cin=5, cout=9, h=13, w=12, k=3, stride=2, padding=1),
    "long_reduction_k5": Case(n=2, cin=4, cout=5, h=9, w=9, k=5, padding=2),
}
SLOW_EDGE_CASES = ["k3_padding1", "k1", "stride2_padding1", "h_not_w", "no_bias"]


def random_case(seed: int) -> tuple[str, Case]:
    rng = random.Random(seed)
    k = rng.choice([1, 2, 3, 5])
    padding = rng.randint(0, k)
    h, w = rng.randint(max(1, k - 2 * padding), 13), rng.randint(max(1, k - 2 * padding), 13)
    case = Case(n=rng.randint(1, 3), cin=rng.randint(1, 5), cout=rng.randint(1, 6), h=h, w=w, k=k,
                stride=(rng.randint(1, 3), rng.randint(1, 3)), padding=padding, bias=rng.random() < 0.7,
                contiguous=rng.random() < 0.7)
    return rng.choice(list(OPS)), case


def make_inputs(op, case: Case, seed: int):
    """float64 input, weight, bias (or None) of size ~1, and a float64 output gradient."""
    _, group, lifting = OPS[op]
    gen = torch.Generator().manual_seed(seed)
    g_axis = () if lifting else (group.order,)
    if case.contiguous:
        x = torch.randn(case.n, case.cin, *g_axis, case.h, case.w, generator=gen, dtype=torch.float64)
    else:  # the same shape, as a transposed view
        x = torch.randn(case.n, case.cin, *g_axis, case.w, case.h, generator=gen, dtype=torch.float64).transpose(-1, -2)
    fan_in = case.cin * (1 if lifting else group.order) * case.k**2
    weight = torch.randn(case.cout, case.cin, *g_axis, case.k, case.k, generator=gen, dtype=torch.float64) / fan_in**0.5
    bias = torch.randn(case.cout, generator=gen, dtype=torch.float64) if case.bias else None
    return x, weight, bias


def run(op, backend, x, weight, bias, case, grad_output=None):
    """(output, grad input, grad weight, grad bias) of `op` on `backend` (grads None without grad_output)."""
    function = OPS[op][0]
    leaves = [t.detach().requires_grad_() if t is not None else None for t in (x, weight, bias)]
    out = function(leaves[0], leaves[1], leaves[2], stride=case.stride, padding=case.padding, backend=backend)
    if grad_output is None:
        return (out, None, None, None)
    wanted = [t for t in leaves if t is not None]
    grads = list(torch.autograd.grad(out, wanted, grad_output.to(out.dtype).to(out.device)))
    return (out, grads[0], grads[1], grads[2] if bias is not None else None)


def check_against_reference(op, backend, case, dtype, seed):
    device = device_of(backend)
    x, weight, bias = make_inputs(op, case, seed)
    # Round to the dtype first, so the float64 reference sees exactly the values the backend sees.
    rounded = [None if t is None else t.to(dtype).to(torch.float64) for t in (x, weight, bias)]
    expected_out = run(op, "torch", *rounded, case)[0]
    grad_output = torch.randn(expected_out.shape, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    expected = run(op, "torch", *rounded, case, grad_output)
    on_device = [None if t is None else t.to(dtype).to(device) for t in rounded]
    with poisoned_outputs():
        actual = run(op, backend, *on_device, case, grad_output)
    tolerance = TOLERANCE[dtype]
    for name, got, want in zip(("output", "grad input", "grad weight", "grad bias"), actual, expected):
        if want is None:
            assert got is None, name
            continue
        assert got.dtype == dtype and got.device.type == device.type, name
        scale = max(1.0, want.abs().max().item())
        torch.testing.assert_close(got.cpu().to(torch.float64), want, rtol=tolerance, atol=tolerance * scale,
                                   msg=lambda m, name=name: f"{op} {backend} {name}: {m}")


DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16]
EDGE_PARAMS = cases_for_each_backend(
    [(op, case, dtype) for op in OPS for case in EDGE_CASES for dtype in DTYPES],
    slow_cases=[(op, case, torch.float32) for op in OPS for case in SLOW_EDGE_CASES],
)


@pytest.mark.parametrize("backend, op, case, dtype", EDGE_PARAMS)
def test_edge_cases_match_the_reference(backend, op, case, dtype):
    check_against_reference(op, backend, EDGE_CASES[case], dtype, seed=len(case))


@pytest.mark.parametrize("backend, seed", cases_for_each_backend([(seed,) for seed in range(24)],
                                                                 slow_cases=[(seed,) for seed in range(3)]))
def test_seeded_random_cases_match_the_reference(backend, seed):
    op, case = random_case(seed)
    for dtype in (torch.float64, torch.float32):
        if supports(backend, dtype):
            check_against_reference(op, backend, case, dtype, seed)


# gradcheck under the Triton interpreter takes minutes: test_triton_group.py runs its own, smaller one.
@pytest.mark.parametrize("backend, op", cases_for_each_backend([(op,) for op in OPS], slow_backends_too=False))
def test_gradcheck_input_weight_bias(backend, op):
    if not supports(backend, torch.float64):
        pytest.skip(f"{backend} has no float64")
    function = OPS[op][0]
    case = Case(n=1, cin=1, cout=2, h=4, w=5, k=3, stride=1, padding=1)
    device = device_of(backend)
    inputs = [t.to(device).requires_grad_() for t in make_inputs(op, case, seed=5)]
    assert torch.autograd.gradcheck(lambda *a: function(*a, stride=(1, 2), padding=1, backend=backend), inputs)


@pytest.mark.parametrize("backend, op", cases_for_each_backend([(op,) for op in OPS]))
def test_fused_backend_never_builds_the_expanded_filter_bank(backend, op, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a fused backend built the expanded filter bank")

    case = Case(h=6, w=6)
    x, weight, bias = (t.to(torch.float32).to(device_of(backend)) for t in make_inputs(op, case, seed=7))
    monkeypatch.setattr(kernels.group_reference, "expand_lift_filters", refuse)
    monkeypatch.setattr(kernels.group_reference, "expand_group_filters", refuse)
    leaves = [t.requires_grad_() for t in (x, weight, bias)]
    out = OPS[op][0](*leaves, stride=1, padding=1, backend=backend)
    out.sum().backward()
    assert all(torch.isfinite(t).all() for t in (out, *(leaf.grad for leaf in leaves)))
    with pytest.raises(AssertionError, match="expanded filter bank"):  # the patch is live: the reference trips it
        run(op, "torch", x.detach().cpu(), weight.detach().cpu(), bias.detach().cpu(), case)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_cpp_backend_refuses_half_precision_naming_itself(dtype):
    if not AVAILABILITY["cpp"][0]:
        pytest.skip(AVAILABILITY["cpp"][1])
    x, weight, bias = (t.to(dtype) for t in make_inputs("p4_lift", Case(), seed=0))
    with pytest.raises(TypeError, match="backend='cpp' supports dtypes float32, float64"):
        kernels.p4_lift(x, weight, bias, backend="cpp")


# --- the C++ operators themselves -------------------------------------------------------------------

def cpp_ops():
    if not AVAILABILITY["cpp"][0]:
        pytest.skip(AVAILABILITY["cpp"][1])
    from kernels import extension

    return extension.load()


OPCHECK_CASES = {  # (input shape, weight shape, order, stride, padding, bias)
    "p4_lift_bias": ((2, 3, 7, 6), (4, 3, 3, 3), 4, [1, 1], [1, 1], True),
    "p4m_conv_stride_no_bias": ((1, 2, 8, 7, 8), (3, 2, 8, 3, 3), 8, [2, 1], [1, 0], False),
}


@pytest.mark.parametrize("case", list(OPCHECK_CASES))
def test_group_ops_pass_opcheck(case):
    ops = cpp_ops()
    x_shape, w_shape, order, stride, padding, has_bias = OPCHECK_CASES[case]
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(x_shape, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(w_shape, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(w_shape[0], generator=gen, dtype=torch.float64, requires_grad=True) if has_bias else None
    torch.library.opcheck(ops.group_conv_forward.default, (x, w, b, order, stride, padding))
    y = ops.group_conv_forward(x.detach(), w.detach(), None, order, stride, padding)
    dy = torch.randn(y.shape, generator=gen, dtype=torch.float64)
    torch.library.opcheck(ops.group_conv_input_grad.default, (dy, w.detach(), list(x_shape), order, stride, padding))
    torch.library.opcheck(ops.group_conv_weight_grad.default, (dy, x.detach(), list(w_shape), order, stride, padding))


def test_group_op_rejects_inconsistent_shapes_with_value_errors():
    ops = cpp_ops()
    x, w = torch.randn(1, 2, 4, 6, 6), torch.randn(3, 2, 4, 3, 3)
    with pytest.raises(ValueError, match="order must be 4"):
        ops.group_conv_forward(x, w, None, 6, [1, 1], [1, 1])
    with pytest.raises(ValueError, match="group axis of size 8"):
        ops.group_conv_forward(x, w, None, 8, [1, 1], [1, 1])
    with pytest.raises(ValueError, match="larger than the padded input"):
        ops.group_conv_forward(x[..., :2, :2], w, None, 4, [1, 1], [0, 0])


SHAPES_FOR_TWO_THREADS = {  # op: Case with enough work (> 2 x 1e7 flops) that every parallel loop splits it
    "p4_conv": Case(n=4, cin=8, cout=8, h=32, w=31, k=3, stride=2, padding=1),  # the general (im2col) path
    "p4m_lift": Case(n=4, cin=3, cout=8, h=24, w=25, k=5, padding=2),  # the stride-1 path
    "p4m_conv": Case(n=4, cin=4, cout=6, h=20, w=21, k=3, padding=1),
}


@pytest.mark.parametrize("op", list(SHAPES_FOR_TWO_THREADS))
def test_cpp_backend_with_two_threads(op):
    from course.runtime.threads import cpu_threads

    cpp_ops()
    with cpu_threads(2):
        check_against_reference(op, "cpp", SHAPES_FOR_TWO_THREADS[op], torch.float64, seed=13)


# --- the benchmark's group section -------------------------------------------------------------------

def test_group_benchmark_is_cheap_on_a_small_shape_and_reports_ratios():
    import time

    from kernels import bench

    if not bench.group_backends_to_run("cpu")[0]:
        pytest.skip("no fused group backend runs on this CPU")
    start = time.perf_counter()
    rows = bench.group_benchmark(shapes=[("p4_conv", 2, 2, 3, 8, 8, 3, 1, 1)], reps=2, threads=(1,))
    assert time.perf_counter() - start < 10  # the default small shape is well under 3 s; this one smaller still
    (row,) = rows
    assert (row.op, row.backend, row.threads) == ("p4_conv", "cpp", 1)
    for value in (row.ratio, row.forward_ratio, row.fused_forward_ms, row.reference_train_ms):
        assert value > 0 and value == value  # positive, not NaN
    assert row.ratio == pytest.approx(row.reference_train_ms / row.fused_train_ms)
    assert "x ref" in bench.format_group_table(rows)


def test_bench_command_line_group_section(capsys):
    from kernels import bench

    rows = bench.main(["--quick", "--only-groups", "--reps", "1", "--threads", "1"])
    out = capsys.readouterr().out
    assert "group convolutions" in out and "skipped group backend cuda" in out or AVAILABILITY["cuda"][0]
    assert all(isinstance(r, bench.GroupRow) for r in rows)
    assert {r.backend for r in rows} == set(bench.group_backends_to_run("cpu")[0])


@pytest.mark.parametrize("backend, op", cases_for_each_backend([(op,) for op in OPS]))
def test_empty_batch_gives_empty_output_and_zero_weight_gradients(backend, op):
    case = Case(n=0)
    x, weight, bias = (t.to(torch.float32).to(device_of(backend)) for t in make_inputs(op, case, seed=3))
    out, grad_x, grad_w, grad_b = run(op, backend, x, weight, bias, case,
                                      grad_output=torch.zeros(0, case.cout, OPS[op][1].order, 7, 7))
    assert out.shape == (0, case.cout, OPS[op][1].order, 7, 7) and grad_x.shape == x.shape
    assert not grad_w.any() and not grad_b.any()
