"""The conformance suite: every conv2d backend computes what F.conv2d computes, and its gradients.

One module, parametrised over the backends `kernels.backends()` reports available; an unavailable
one is skipped with its reason. For each backend and each dtype it supports:

- forward: `kernels.conv2d(..., backend=name)` against F.conv2d evaluated in float64 on the very
  same (already rounded) values, so only the backend's own rounding counts;
- gradients of input, weight and bias against torch autograd of F.conv2d in float64;
- `gradcheck` in float64 on a tiny shape (finite differences against the backend's own backward);
- poisoned outputs: inside `kernels.poison.poisoned_outputs()` a backend that allocates through
  `kernels.poison.new_output` hands its kernels NaN-filled buffers, so an element no kernel wrote
  stays NaN and fails the comparison (assert_close treats NaN as a mismatch). Backends that do not
  allocate that way (the reference) are reported as skipped by `test_backend_poisons_its_outputs`;
- bad input: ValueError/TypeError naming the argument, for every backend;
- PyTorch's own conv2d cases (`PYTORCH_CASES`: the argument sets of its OpInfo sample inputs, its
  nn.Conv2d ModuleInfo and its common_nn module tests, batched and unbatched), forward and gradients
  against F.conv2d in float32 and float64 (Triton: every fourth case).
Second derivatives, forward mode and torch.func: test_autograd_paths.py; empty channels, output
strides, autocast: test_corners.py; torch.compile and torch.export: test_compile.py.

Cases: named edge cases (1x1, kernel equal to the padded input, stride larger than the kernel,
dilation with padding, groups up to depthwise, batch of 1, channels-last, sliced inputs, ...) and
seeded random cases across the whole argument space. The Triton interpreter is slow, so Triton
gets fewer random cases and low-precision dtypes on the edge cases only.

Tolerances (rtol, and atol as a fraction of the largest reference magnitude, so they do not
depend on how large a case's sums happen to be):
  float64  1e-10, 1e-10   both sides exact to ~1e-16 per operation; sums of <1000 terms
  float32  1e-5,  1e-5    float32 accumulation: error grows like sqrt(terms) * 6e-8
  float16  2e-3,  2e-3    the result is rounded to float16 (relative step 4.9e-4), accumulated in float32
  bfloat16 1.6e-2, 1.6e-2 the result is rounded to bfloat16 (relative step 3.9e-3), accumulated in float32
The same table holds for every backend; `TOLERANCE_OVERRIDES` says where one needs its own.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

import kernels
from kernels.poison import new_output, poisoned_outputs

TOLERANCE = {
    torch.float64: (1e-10, 1e-10),
    torch.float32: (1e-5, 1e-5),
    torch.float16: (2e-3, 2e-3),
    torch.bfloat16: (1.6e-2, 1.6e-2),
}
TOLERANCE_OVERRIDES: dict[tuple[str, torch.dtype], tuple[float, float]] = {}
DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
RANDOM_CASES = {"torch": 12, "triton": 8, "cpp": 30, "cuda": 30}
SLOW_BACKENDS = {"triton"}  # the interpreter: low-precision dtypes on edge cases only

AVAILABILITY = kernels.backends()


def backend_params():
    return [
        pytest.param(name, marks=() if ok else pytest.mark.skip(reason=f"backend {name!r} unavailable: {reason}"))
        for name, (ok, reason) in AVAILABILITY.items()
    ]


def backend_module(name):
    return kernels.backend_module(name)


def supported_dtypes(name):
    return tuple(d for d in DTYPES if d in getattr(backend_module(name), "SUPPORTED_DTYPES", DTYPES))


def device_for(name):
    device = getattr(backend_module(name), "DEVICE", None)
    return torch.device(device or "cpu")


@dataclass(frozen=True)
class Case:
    n: int
    c: int
    h: int
    w: int
    k: int
    r: int
    s: int
    stride: object = 1
    padding: object = 0
    dilation: object = 1
    groups: int = 1
    bias: bool = True
    layout: str = "contiguous"  # or "channels_last", "sliced"

    def args(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)


EDGE_CASES = {
    "1x1": Case(2, 4, 5, 5, 6, 1, 1),
    "kernel_equal_to_padded_input": Case(2, 3, 4, 5, 4, 6, 7, padding=1),
    "stride_larger_than_kernel": Case(2, 3, 9, 8, 4, 2, 2, stride=3),
    "dilation_with_padding": Case(1, 2, 8, 7, 3, 3, 3, padding=(2, 1), dilation=(2, 3)),
    "groups_2": Case(2, 4, 6, 6, 6, 3, 3, padding=1, groups=2),
    "depthwise": Case(2, 4, 6, 6, 4, 3, 3, padding=1, groups=4),
    "depthwise_multiplier_2_strided": Case(1, 3, 7, 6, 6, 3, 3, stride=2, padding=1, groups=3),
    "batch_of_1": Case(1, 3, 6, 6, 5, 3, 3, padding=1),
    "channels_last": Case(2, 3, 6, 5, 4, 3, 2, padding=1, layout="channels_last"),
    "sliced_input": Case(2, 3, 6, 7, 4, 3, 3, stride=(1, 2), padding=1, layout="sliced"),
    "rectangular_everything": Case(2, 3, 7, 11, 5, 2, 4, stride=(2, 1), padding=(1, 2), dilation=(1, 2)),
    "same_with_even_kernel": Case(2, 2, 6, 7, 3, 2, 4, padding="same"),
    "same_with_dilation": Case(1, 2, 7, 6, 3, 3, 2, padding="same", dilation=(2, 3)),
    "valid_no_bias": Case(2, 3, 6, 6, 4, 3, 3, padding="valid", bias=False),
    "one_pixel_image": Case(2, 3, 1, 1, 4, 1, 1),
}


def random_case(seed: int) -> Case:
    """A valid conv2d call drawn from the whole argument space, reproducibly."""
    rng = random.Random(seed)
    groups = rng.choice([1, 1, 1, 2, 3])
    r, s = rng.randint(1, 4), rng.randint(1, 4)
    dilation = (rng.randint(1, 2), rng.randint(1, 2))
    stride = (rng.randint(1, 3), rng.randint(1, 3))
    padding = rng.choice([0, 1, (rng.randint(0, 2), rng.randint(0, 2)), "valid", "same"])
    if padding == "same":
        stride = (1, 1)
    pad = (0, 0) if isinstance(padding, str) else ((padding, padding) if isinstance(padding, int) else padding)
    extent = (dilation[0] * (r - 1) + 1, dilation[1] * (s - 1) + 1)
    h = rng.randint(max(1, extent[0] - 2 * pad[0]), extent[0] + 7)
    w = rng.randint(max(1, extent[1] - 2 * pad[1]), extent[1] + 7)
    return Case(
        n=rng.randint(1, 3), c=groups * rng.randint(1, 3), h=h, w=w, k=groups * rng.randint(1, 3), r=r, s=s,
        stride=stride, padding=padding, dilation=dilation, groups=groups, bias=rng.random() < 0.7,
        layout=rng.choice(["contiguous", "contiguous", "channels_last", "sliced"]),
    )


def cases_for(name):
    cases = [pytest.param(case, id=case_id) for case_id, case in EDGE_CASES.items()]
    cases += [pytest.param(random_case(seed), id=f"random{seed}") for seed in range(RANDOM_CASES[name])]
    return cases


def backend_case_dtype_params(gradients=False):
    params = []
    for name, (ok, reason) in AVAILABILITY.items():
        if not ok:
            params.append(pytest.param(name, None, None, id=name,
                                       marks=pytest.mark.skip(reason=f"backend {name!r} unavailable: {reason}")))
            continue
        for dtype in supported_dtypes(name):
            low_precision = dtype in (torch.float16, torch.bfloat16)
            for case in cases_for(name):
                is_random = case.id.startswith("random")
                if low_precision and (is_random and name in SLOW_BACKENDS or gradients and name in SLOW_BACKENDS):
                    continue
                if gradients and dtype == torch.float64 and name in SLOW_BACKENDS and is_random:
                    continue
                params.append(pytest.param(name, case.values[0], dtype, id=f"{name}-{str(dtype)[6:]}-{case.id}"))
    return params


def with_layout(tensor: torch.Tensor, layout: str) -> torch.Tensor:
    """The same values, laid out as `layout`: channels-last, or a non-contiguous slice of a bigger tensor."""
    if layout == "channels_last" and tensor.dim() == 4:
        return tensor.contiguous(memory_format=torch.channels_last)
    if layout == "sliced":
        *lead, h, w = tensor.shape
        big = torch.zeros(*lead, 2 * h, 2 * w + 1, dtype=tensor.dtype, device=tensor.device)
        view = big[..., ::2, 1::2]  # every other row and column, one element in: strided and offset
        view.copy_(tensor)
        assert view.storage_offset() > 0 and (h * w == 1 or not view.is_contiguous())
        return view
    return tensor


def make_inputs(case: Case, dtype, device, seed=0):
    """(input, weight, bias) in `dtype` and the case's layout on `device`, and their float64 copies."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(case.n, case.c, case.h, case.w, generator=g, dtype=torch.float64)
    w = torch.randn(case.k, case.c // case.groups, case.r, case.s, generator=g, dtype=torch.float64)
    b = torch.randn(case.k, generator=g, dtype=torch.float64) if case.bias else None
    low = [t.to(dtype).to(device) if t is not None else None for t in (x, w, b)]
    exact = [t.double() if t is not None else None for t in low]  # the rounded values, exactly, in float64
    low = [with_layout(low[0], case.layout), with_layout(low[1], case.layout), low[2]]
    return low, exact


def assert_matches(actual, expected, name, dtype, what):
    rtol, atol_fraction = TOLERANCE_OVERRIDES.get((name, dtype), TOLERANCE[dtype])
    scale = max(1.0, expected.abs().max().item()) if expected.numel() else 1.0
    assert actual.dtype == dtype, f"{what}: dtype {actual.dtype}, expected {dtype}"
    torch.testing.assert_close(actual.double(), expected, rtol=rtol, atol=atol_fraction * scale, msg=lambda m: f"{what}: {m}")


@pytest.mark.parametrize("name, case, dtype", backend_case_dtype_params())
def test_forward_matches_float64_reference(name, case, dtype):
    (x, w, b), (x64, w64, b64) = make_inputs(case, dtype, device_for(name))
    with poisoned_outputs():
        out = kernels.conv2d(x, w, b, **case.args(), backend=name)
    expected = F.conv2d(x64, w64, b64, **case.args())
    assert out.shape == expected.shape
    assert_matches(out, expected, name, dtype, "output")


@pytest.mark.parametrize("name, case, dtype", backend_case_dtype_params(gradients=True))
def test_gradients_match_torch_autograd(name, case, dtype):
    (x, w, b), (x64, w64, b64) = make_inputs(case, dtype, device_for(name))
    leaves = [t.detach().requires_grad_() for t in (x, w, b) if t is not None]
    x, w, b = (leaves + [None])[:3]
    exact = [t.detach().requires_grad_() for t in (x64, w64, b64) if t is not None]
    expected_out = F.conv2d(*(exact + [None])[:3], **case.args())
    grad_out = torch.randn(expected_out.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    grad_out = grad_out.to(dtype).to(x.device)
    with poisoned_outputs():
        out = kernels.conv2d(x, w, b, **case.args(), backend=name)
        grads = torch.autograd.grad(out, leaves, grad_out)
    expected = torch.autograd.grad(expected_out, exact, grad_out.double())
    for what, actual, reference in zip(("grad input", "grad weight", "grad bias"), grads, expected):
        assert actual.shape == reference.shape, what
        assert_matches(actual, reference.to(actual.device), name, dtype, what)


GRADCHECK_CASES = {
    "strided_padded": Case(1, 2, 5, 4, 2, 2, 3, stride=(2, 1), padding=(1, 1), dilation=(1, 2)),
    "grouped": Case(2, 2, 4, 3, 2, 2, 2, padding=1, groups=2),
}


@pytest.mark.parametrize("case_id", list(GRADCHECK_CASES))
@pytest.mark.parametrize("name", backend_params())
def test_gradcheck_in_float64(name, case_id):
    if torch.float64 not in supported_dtypes(name):
        pytest.skip(f"backend {name!r} has no float64")
    case = GRADCHECK_CASES[case_id]
    (x, w, b), _ = make_inputs(case, torch.float64, device_for(name))
    inputs = tuple(t.detach().requires_grad_() for t in (x, w, b))
    assert torch.autograd.gradcheck(lambda *t: kernels.conv2d(*t, **case.args(), backend=name), inputs)


@pytest.mark.parametrize("name", backend_params())
def test_backend_poisons_its_outputs(name):
    """Poisoning is real: new buffers are NaN inside the block, and the backend allocates through it."""
    if not getattr(backend_module(name), "POISONS_OUTPUTS", False):
        pytest.skip(f"backend {name!r} allocates its outputs itself (POISONS_OUTPUTS is not set)")
    with poisoned_outputs():
        assert new_output((3, 2), like=torch.zeros(1, device=device_for(name))).isnan().all()


def test_poisoned_outputs_catch_an_unwritten_element(monkeypatch):
    """The suite's own check: a kernel that skips the last output element fails under poison."""
    if not AVAILABILITY["triton"][0]:
        pytest.skip(f"backend 'triton' unavailable: {AVAILABILITY['triton'][1]}")
    import kernels.triton.registration as registration

    if not registration.INTERPRETING:
        pytest.skip("on a GPU the operator is a triton_op traced by torch; this check is for the interpreter")
    honest = registration.conv2d_forward

    def forgetful(x, weight, *rest, **kw):
        out = honest(x, weight, *rest, **kw)
        out.view(-1)[-1] = new_output((1,), like=out)[0]  # as if the last tile were never stored
        return out

    monkeypatch.setattr(registration, "conv2d_forward", forgetful)
    case = EDGE_CASES["batch_of_1"]
    (x, w, b), (x64, w64, b64) = make_inputs(case, torch.float32, device_for("triton"))
    with poisoned_outputs():
        out = kernels.conv2d(x, w, b, **case.args(), backend="triton")
    with pytest.raises(AssertionError):
        assert_matches(out, F.conv2d(x64, w64, b64, **case.args()), "triton", torch.float32, "output")


BAD_INPUTS = {
    "channel_mismatch": (dict(x=(1, 3, 6, 6), w=(4, 2, 3, 3)), ValueError, "channels"),
    "stride_zero": (dict(stride=0), ValueError, "stride"),
    "negative_padding": (dict(padding=(-1, 0)), ValueError, "padding"),
    "kernel_larger_than_padded_input": (dict(x=(1, 2, 2, 2), w=(4, 2, 3, 3)), ValueError, "padded input"),
    "mixed_dtypes": (dict(weight_dtype=torch.float64), TypeError, "weight"),
    "integer_input": (dict(input_dtype=torch.int32), TypeError, "input"),
    "wrong_rank": (dict(x=(6, 6)), ValueError, "input"),
    "same_with_stride": (dict(padding="same", stride=2), ValueError, "same"),
}


@pytest.mark.parametrize("bad", list(BAD_INPUTS))
@pytest.mark.parametrize("name", backend_params())
def test_bad_input_raises_error_naming_the_argument(name, bad):
    spec, error, named = BAD_INPUTS[bad]
    device = device_for(name)
    x = torch.ones(spec.get("x", (1, 2, 6, 6)), device=device).to(spec.get("input_dtype", torch.float32))
    w = torch.ones(spec.get("w", (4, 2, 3, 3)), device=device, dtype=spec.get("weight_dtype", torch.float32))
    kwargs = {key: spec[key] for key in ("stride", "padding") if key in spec}
    with pytest.raises(error, match=named):
        kernels.conv2d(x, w, **kwargs, backend=name)


@pytest.mark.parametrize("name", backend_params())
def test_unsupported_dtype_is_refused_naming_the_backend(name):
    missing = [d for d in DTYPES if d not in supported_dtypes(name)]
    if not missing:
        pytest.skip(f"backend {name!r} supports every floating dtype")
    x = torch.ones(1, 2, 5, 5, dtype=missing[0], device=device_for(name))
    with pytest.raises(TypeError, match=f"backend='{name}'"):
        kernels.conv2d(x, torch.ones(3, 2, 3, 3, dtype=missing[0], device=x.device), backend=name)


# --- PyTorch's own conv2d test cases ------------------------------------------------------------------
# The argument sets PyTorch tests its own conv2d with, written out here (input shape, weight shape,
# bias?, keyword arguments). Three sources in torch/testing/_internal of the installed torch:
#   sample_inputs_conv2d (common_methods_invocations.py, the OpInfo of nn.functional.conv2d): each case
#     batched and unbatched (`test_pytorch_sample_inputs_are_the_installed_ones` checks this table
#     against that file);
#   module_inputs_torch_nn_ConvNd with N=2 (common_modules.py, the ModuleInfo of nn.Conv2d):
#     Conv2d(4, 5, 3) with and without padding="same", on (2, 4, 3, 4) and unbatched (4, 3, 4);
#   the Conv2d entries of common_nn.py's module tests (strided, padded, dilated, no bias, zero batch,
#     groups, "valid"/"same" padding, depthwise).
_SAMPLE_INPUTS_CONV2D = (
    ((1, 3, 4, 4), (3, 3, 3, 3), True, {"stride": (2, 2), "padding": 2, "groups": 1}),
    ((2, 4, 8, 8), (2, 2, 3, 3), True, {"stride": (3, 2), "padding": (2, 1), "groups": 2, "dilation": (4, 4)}),
    ((1, 4, 5, 5), (1, 4, 2, 3), True, {"stride": 2, "padding": 1, "groups": 1, "dilation": (2, 3)}),
    ((1, 4, 5, 5), (1, 4, 2, 3), True, {"stride": 2, "padding": 1, "groups": 1, "dilation": (2, 3)}),
    ((1, 2, 4, 3), (4, 2, 3, 4), False, {"stride": 2, "padding": 1, "groups": 1}),
    ((1, 4, 5, 5), (1, 4, 2, 3), True, {"stride": 2, "padding": "valid"}),
    ((1, 4, 5, 5), (1, 4, 2, 3), True, {"stride": 1, "padding": "same", "dilation": 3}),
    ((2, 4, 6, 6), (4, 1, 3, 3), True, {"groups": 4}),
    ((2, 4, 6, 6), (8, 1, 3, 3), True, {"groups": 4}),
    ((2, 4, 6, 6), (8, 1, 3, 3), False, {"groups": 4}),
    ((2, 4, 6, 6), (4, 1, 3, 3), True, {"groups": 4, "stride": (3, 2)}),
    ((2, 4, 6, 6), (4, 1, 3, 3), True, {"groups": 4, "padding": (1, 1)}),
    ((2, 4, 5, 5), (4, 1, 2, 2), True, {"groups": 4, "dilation": (2, 2)}),
    ((2, 4, 6, 5), (6, 2, 3, 2), True, {"groups": 2}),
    ((1, 4, 5, 5), (3, 4, 3, 3), False, {}),
)
PYTORCH_CASES = {
    **{f"opinfo{i}_{kind}": (x if kind == "batched" else x[1:], w, bias, kwargs)
       for i, (x, w, bias, kwargs) in enumerate(_SAMPLE_INPUTS_CONV2D) for kind in ("batched", "unbatched")},
    "module_conv2d": ((2, 4, 3, 4), (5, 4, 3, 3), True, {}),
    "module_conv2d_no_batch_dim": ((4, 3, 4), (5, 4, 3, 3), True, {}),
    "module_conv2d_same": ((2, 4, 3, 4), (5, 4, 3, 3), True, {"padding": "same"}),
    "module_conv2d_same_no_batch_dim": ((4, 3, 4), (5, 4, 3, 3), True, {"padding": "same"}),
    "nn_conv2d": ((2, 3, 7, 5), (4, 3, 3, 2), True, {}),
    "nn_conv2d_strided": ((2, 3, 6, 6), (4, 3, 3, 3), True, {"stride": (2, 2)}),
    "nn_conv2d_padding": ((2, 3, 6, 6), (4, 3, 3, 3), True, {"stride": (2, 2), "padding": (1, 1)}),
    "nn_conv2d_dilated": ((2, 3, 8, 8), (2, 3, 3, 3), True, {"stride": (2, 2), "padding": (1, 1), "dilation": (2, 2)}),
    "nn_conv2d_no_bias": ((2, 3, 6, 5), (4, 3, 3, 2), False, {}),
    "nn_conv2d_zero_batch": ((0, 3, 7, 5), (4, 3, 3, 2), True, {}),
    "nn_conv2d_groups": ((2, 4, 6, 5), (6, 2, 3, 2), True, {"groups": 2}),
    "nn_conv2d_pad_valid": ((2, 2, 6, 5), (4, 2, 3, 4), True, {"padding": "valid"}),
    "nn_conv2d_pad_same": ((2, 2, 6, 5), (4, 2, 3, 4), True, {"padding": "same"}),
    "nn_conv2d_pad_same_dilated": ((2, 2, 6, 5), (4, 2, 3, 4), True, {"padding": "same", "dilation": 2}),
    "nn_conv2d_depthwise": ((2, 4, 6, 6), (4, 1, 3, 3), True, {"groups": 4}),
    "nn_conv2d_depthwise_with_multiplier": ((2, 4, 6, 6), (8, 1, 3, 3), True, {"groups": 4}),
    "nn_conv2d_depthwise_strided": ((2, 4, 6, 6), (4, 1, 3, 3), True, {"stride": (2, 2), "groups": 4}),
    "nn_conv2d_depthwise_padded": ((2, 4, 6, 6), (4, 1, 3, 3), True, {"padding": (1, 1), "groups": 4}),
    "nn_conv2d_depthwise_dilated": ((2, 4, 5, 5), (4, 1, 2, 2), True, {"dilation": (2, 2), "groups": 4}),
}
TRITON_PYTORCH_CASES = list(PYTORCH_CASES)[::4]  # the interpreter is slow: every fourth case


def pytorch_case_params():
    params = []
    for name, (ok, reason) in AVAILABILITY.items():
        if not ok:
            params.append(pytest.param(name, None, None, id=f"{name}-unavailable",
                                       marks=pytest.mark.skip(reason=f"backend {name!r} unavailable: {reason}")))
            continue
        for case_id in (TRITON_PYTORCH_CASES if name in SLOW_BACKENDS else PYTORCH_CASES):
            for dtype in (torch.float32, torch.float64):
                if dtype in supported_dtypes(name):
                    params.append(pytest.param(name, case_id, dtype, id=f"{name}-{str(dtype)[6:]}-{case_id}"))
    return params


@pytest.mark.parametrize("name, case_id, dtype", pytorch_case_params())
def test_pytorch_own_cases_match_f_conv2d(name, case_id, dtype):
    x_shape, w_shape, has_bias, kwargs = PYTORCH_CASES[case_id]
    gen = torch.Generator().manual_seed(len(case_id))
    exact = [torch.randn(x_shape, generator=gen, dtype=torch.float64).to(dtype).double(),
             torch.randn(w_shape, generator=gen, dtype=torch.float64).to(dtype).double()]
    if has_bias:
        exact.append(torch.randn(w_shape[0], generator=gen, dtype=torch.float64).to(dtype).double())
    exact = [t.requires_grad_() for t in exact]
    leaves = [t.detach().to(dtype).to(device_for(name)).requires_grad_() for t in exact]
    expected = F.conv2d(*exact, **kwargs)
    with poisoned_outputs():
        out = kernels.conv2d(*leaves, **kwargs, backend=name)
    assert out.shape == expected.shape
    assert_matches(out, expected.detach(), name, dtype, "output")
    grad_out = torch.randn(expected.shape, generator=gen, dtype=torch.float64).to(dtype)
    with poisoned_outputs():
        grads = torch.autograd.grad(out, leaves, grad_out.to(out.device))
    for what, actual, reference in zip(("input", "weight", "bias"), grads, torch.autograd.grad(expected, exact, grad_out.double())):
        assert_matches(actual, reference, name, dtype, f"grad {what}")


def test_pytorch_sample_inputs_are_the_installed_ones():
    """The table above is PyTorch's: read the cases of sample_inputs_conv2d from the installed torch's source."""
    import ast
    import pathlib

    source = pathlib.Path(torch.__file__).parent / "testing" / "_internal" / "common_methods_invocations.py"
    if not source.exists():
        pytest.skip(f"this torch installation has no {source.name}")
    tree = ast.parse(source.read_text())
    function = next(node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)
                    and node.name == "sample_inputs_conv2d")
    assignment = next(node for node in ast.walk(function) if isinstance(node, (ast.Assign, ast.AnnAssign))
                      and getattr(node.targets[0] if isinstance(node, ast.Assign) else node.target, "id", "") == "cases")
    theirs = ast.literal_eval(assignment.value)
    ours = tuple((x, w, bias, kwargs) for x, w, bias, kwargs in _SAMPLE_INPUTS_CONV2D)
    assert [(x, w, b is not None, kwargs) for x, w, b, kwargs in theirs] == list(ours)
    assert all(b is None or b == (w[0],) for _, w, b, _ in theirs)
