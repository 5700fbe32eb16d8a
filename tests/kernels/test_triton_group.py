"""The fused Triton group convolutions (kernels/triton/group*.py) against the expanded-filter reference.

For each of p4_lift, p4_conv, p4m_lift, p4m_conv, called through the public API with backend="triton":
the output and the gradients of input, weight and bias against backend="torch" (the reference,
kernels/group_reference.py) evaluated in float64 on the very same, already rounded, values, so only
the kernels' own rounding counts. Named edge cases, seeded random cases, a float64 gradcheck on a tiny
shape, and:
- the kernels read the expanded bank through kernels/groups.py's tables (kernels/triton/group_index.py),
  with no rotation or flip arithmetic of their own: a table with its rows rolled rolls the output;
- the expanded filter bank is never built (the reference's expansion functions are patched to raise);
- every output element is written (buffers come NaN-filled inside `poisoned_outputs()`);
- the weight gradient, summed over the tied copies inside the kernel, is the same bits on every run.

Tolerances (rtol, and atol as a fraction of the largest reference magnitude, as in test_conformance.py,
so they do not depend on how large a case's sums happen to be):
  float64  1e-10   exact to ~1e-16 per operation; the sums here have < 1000 terms
  float32  1e-5    float32 accumulation: the error grows like sqrt(terms) * 6e-8
  float16  2e-3    the result is rounded to float16 (relative step 4.9e-4), accumulated in float32
  bfloat16 1.6e-2  the result is rounded to bfloat16 (relative step 3.9e-3), accumulated in float32
Without a GPU all of this runs through the Triton interpreter: the shapes are tiny on purpose.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
import torch

import kernels  # noqa: I001  (before triton: without a GPU, `import kernels` switches on the interpreter)
import kernels.group_reference
import kernels.triton.group as triton_group
import kernels.triton.group_index as group_index
import kernels.triton.launch as launch
from kernels.groups import P4, P4M
from kernels.poison import poisoned_outputs

AVAILABLE, WHY_NOT = triton_group.available()
pytestmark = pytest.mark.skipif(not AVAILABLE, reason=f"triton group backend unavailable: {WHY_NOT}")

OPS = {  # name: (function, group, lifting)
    "p4_lift": (kernels.p4_lift, P4, True),
    "p4_conv": (kernels.p4_conv, P4, False),
    "p4m_lift": (kernels.p4m_lift, P4M, True),
    "p4m_conv": (kernels.p4m_conv, P4M, False),
}
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}
DEVICE = torch.device(triton_group.DEVICE)


@dataclass(frozen=True)
class Case:
    n: int = 2
    cin: int = 2
    cout: int = 2
    h: int = 6
    w: int = 6
    k: int = 3
    stride: int | tuple[int, int] = 1
    padding: int | str | tuple[int, int] = 1
    bias: bool = True
    contiguous: bool = True


EDGE_CASES = {
    "k1": Case(k=1, padding=0),
    "stride2_padding0": Case(h=7, w=7, stride=2, padding=0),
    "stride2_padding1": Case(h=7, w=8, stride=2, padding=1),
    "n1_cin1_cout1": Case(n=1, cin=1, cout=1, h=5, w=5),
    "h_not_w": Case(h=5, w=8),
    "no_bias": Case(bias=False),
    "non_contiguous_input": Case(h=5, w=7, contiguous=False),
    "even_kernel_padding_same": Case(k=2, padding="same"),
    "kernel_covers_the_padded_input": Case(h=3, w=3, k=5, padding=1),
    "stride_and_padding_differ_per_axis": Case(h=6, w=7, stride=(1, 2), padding=(0, 1)),
    # With the interpreter's largest tiles (128 rows, 128 reduction terms): two row tiles in the forward
    # and input-gradient GEMMs, and several reduction steps (input gradient: COUT*G*k*k >= 180 terms).
    "wider_than_one_tile": Case(n=3, cin=3, cout=5, h=7, w=7),
}


def make_inputs(op, case, dtype, seed):
    """x, weight, bias (or None) in `dtype`, with outputs of size ~1, and the generator (it draws dy next)."""
    _, group, lifting = OPS[op]
    gen = torch.Generator().manual_seed(seed)
    g_axis = () if lifting else (group.order,)
    if case.contiguous:
        x = torch.randn(case.n, case.cin, *g_axis, case.h, case.w, generator=gen, dtype=torch.float64)
    else:  # a transposed view: the same values, not laid out as (N, C, [G,] H, W)
        x = torch.randn(case.n, case.cin, *g_axis, case.w, case.h, generator=gen, dtype=torch.float64).transpose(-1, -2)
    fan_in = case.cin * (1 if lifting else group.order) * case.k**2
    weight = torch.randn(case.cout, case.cin, *g_axis, case.k, case.k, generator=gen, dtype=torch.float64) / fan_in**0.5
    bias = torch.randn(case.cout, generator=gen, dtype=torch.float64) if case.bias else None
    to = dict(dtype=dtype, device=DEVICE)
    return x.to(**to), weight.to(**to), None if bias is None else bias.to(**to), gen


def output_and_grads(op, backend, x, weight, bias, case, dy=None, gen=None):
    """(output, {name: gradient}) of `op` through `backend`, for dL/dy = dy (random if None)."""
    function, _, _ = OPS[op]
    leaves = {"input": x.detach().requires_grad_(), "weight": weight.detach().requires_grad_()}
    if bias is not None:
        leaves["bias"] = bias.detach().requires_grad_()
    out = function(leaves["input"], leaves["weight"], leaves.get("bias"), case.stride, case.padding, backend=backend)
    if dy is None:
        dy = torch.randn(out.shape, generator=gen, dtype=torch.float64).to(out.dtype)
    grads = torch.autograd.grad(out, list(leaves.values()), dy.to(out.dtype))
    return out.detach(), dict(zip(leaves, grads)), dy


def assert_matches(actual, expected, dtype, what):
    tol = TOLERANCE[dtype]
    scale = max(1.0, expected.abs().max().item())
    assert actual.dtype == dtype, f"{what}: dtype {actual.dtype}, expected {dtype}"
    torch.testing.assert_close(actual.double(), expected, rtol=tol, atol=tol * scale, msg=lambda m: f"{what}: {m}")


def check_against_reference(op, case, dtype, seed=0):
    x, weight, bias, gen = make_inputs(op, case, dtype, seed)
    with poisoned_outputs():
        out, grads, dy = output_and_grads(op, "triton", x, weight, bias, case, gen=gen)
    wide = (None if t is None else t.double() for t in (x, weight, bias))
    expected_out, expected_grads, _ = output_and_grads(op, "torch", *wide, case, dy=dy.double())
    assert out.shape == expected_out.shape
    assert_matches(out, expected_out, dtype, f"{op} output")
    for name, expected in expected_grads.items():
        assert grads[name].shape == expected.shape
        assert_matches(grads[name], expected, dtype, f"{op} gradient of {name}")


# --- against the reference ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("case", list(EDGE_CASES))
@pytest.mark.parametrize("op", list(OPS))
def test_output_and_gradients_match_reference_on_edge_cases(op, case, dtype):
    check_against_reference(op, EDGE_CASES[case], dtype)


def random_case(seed):
    rng = random.Random(seed)
    k = rng.choice([1, 2, 3, 4, 5])
    padding = rng.randint(0, k // 2 + 1)
    h, w = (rng.randint(max(1, k - 2 * padding), 9) for _ in range(2))
    return Case(n=rng.randint(1, 3), cin=rng.randint(1, 3), cout=rng.randint(1, 4), h=h, w=w, k=k,
                stride=rng.randint(1, 3), padding=padding, bias=rng.random() < 0.7, contiguous=rng.random() < 0.7)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("op", list(OPS))
def test_output_and_gradients_match_reference_on_random_cases(op, seed, dtype):
    check_against_reference(op, random_case(seed), dtype, seed=seed)


@pytest.mark.skipif(not launch.INTERPRETING, reason="block sizes are autotuned on a GPU")
@pytest.mark.parametrize("op", list(OPS))
def test_smallest_blocks_tile_every_gemm_dimension(op, monkeypatch):
    """16-wide tiles (tl.dot's smallest): several ragged tiles along rows, columns and the reduction
    of all three kernels, so every mask and every tile offset is exercised."""
    monkeypatch.setitem(launch.INTERPRETER_BLOCK_CAPS, "group", {"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_K": 16})
    lifting = OPS[op][2]
    check_against_reference(op, Case(n=1, cin=2 if lifting else 1, cout=3, h=5, w=5), torch.float64)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("op", ["p4_lift", "p4m_conv"])
def test_low_precision_dtypes_match_reference(op, dtype):
    check_against_reference(op, Case(h=5, w=5), dtype)


@pytest.mark.parametrize("op", list(OPS))
def test_gradcheck_input_weight_bias(op):
    """Finite differences in float64 against the kernels' own backward, on a tiny strided, padded case."""
    function, _, _ = OPS[op]
    x, weight, bias, _ = make_inputs(op, Case(n=1, cin=1, cout=2, h=4, w=5, k=2), torch.float64, seed=5)
    args = tuple(t.requires_grad_() for t in (x, weight, bias))
    assert torch.autograd.gradcheck(
        lambda *a: function(*a, stride=2, padding=1, backend="triton"), args, fast_mode=True
    )


# --- how the kernels compute --------------------------------------------------------------------------


@pytest.mark.parametrize("lifting", [True, False], ids=["lift", "conv"])
@pytest.mark.parametrize("group", [P4, P4M], ids=lambda g: g.name)
def test_tables_on_the_device_are_those_of_kernels_groups(group, lifting):
    index, landing = group_index.filter_tables(group.order, 3, lifting, DEVICE)
    assert index.dtype == landing.dtype == torch.int32 and index.device.type == DEVICE.type
    assert torch.equal(index.cpu().long(), group.filter_index(3, lifting))
    assert torch.equal(landing.cpu().long(), group.filter_landing(3, lifting))


@pytest.mark.parametrize("op", ["p4_conv", "p4m_lift"])
def test_forward_reads_the_expanded_bank_through_the_table(op, monkeypatch):
    """Rolling the table's rows by one (copy g reads copy g+1's entries) rolls the output's group axis:
    the kernel has no rotation or flip of its own, every entry comes through kernels/groups.py's table."""
    function, group, lifting = OPS[op]
    case = Case(h=5, w=5)
    x, weight, bias, _ = make_inputs(op, case, torch.float64, seed=6)
    expected = function(x, weight, bias, case.stride, case.padding, backend="triton")
    honest = group_index.filter_tables

    def rolled(order, k, lifting, device):
        index, landing = honest(order, k, lifting, device)
        return index.roll(-1, dims=0), landing

    monkeypatch.setattr("kernels.triton.group_forward.filter_tables", rolled)
    got = function(x, weight, bias, case.stride, case.padding, backend="triton")
    torch.testing.assert_close(got, expected.roll(-1, dims=2), rtol=0, atol=0)


def _refuse_to_expand(*args, **kwargs):
    raise AssertionError("the fused kernels must not build the expanded filter bank")


@pytest.mark.parametrize("op", list(OPS))
def test_expanded_filter_bank_is_never_built(op, monkeypatch):
    monkeypatch.setattr(kernels.group_reference, "expand_lift_filters", _refuse_to_expand)
    monkeypatch.setattr(kernels.group_reference, "expand_group_filters", _refuse_to_expand)
    case = Case(h=5, w=5)
    x, weight, bias, gen = make_inputs(op, case, torch.float32, seed=1)
    out, grads, _ = output_and_grads(op, "triton", x, weight, bias, case, gen=gen)
    assert out.isfinite().all() and all(grad.isfinite().all() for grad in grads.values())
    with pytest.raises(AssertionError, match="expanded filter bank"):  # the patch is live: the reference trips it
        output_and_grads(op, "torch", x, weight, bias, case, gen=gen)


@pytest.mark.parametrize("op", ["p4_lift", "p4m_conv"])
def test_weight_gradient_is_the_same_bits_on_every_run(op):
    """The tied copies are summed inside one program per weight tile, in a fixed order: no atomics."""
    case = Case(n=2, cin=2, cout=3, h=6, w=6)
    x, weight, bias, gen = make_inputs(op, case, torch.float32, seed=2)
    _, first, dy = output_and_grads(op, "triton", x, weight, bias, case, gen=gen)
    _, second, _ = output_and_grads(op, "triton", x, weight, bias, case, dy=dy)
    assert torch.equal(first["weight"], second["weight"])


def test_empty_batch_gives_empty_output_and_zero_weight_gradient():
    case = Case(n=0)
    x, weight, bias, gen = make_inputs("p4_conv", case, torch.float32, seed=3)
    out, grads, _ = output_and_grads("p4_conv", "triton", x, weight, bias, case, gen=gen)
    assert out.shape == (0, 2, 4, 6, 6)
    assert torch.equal(grads["weight"], torch.zeros_like(weight)) and torch.equal(grads["bias"], torch.zeros_like(bias))
