"""Argument checking and normalisation of kernels.conv2d (kernels/arguments.py and the dispatcher).

The checks run before any backend, so these tests use the "torch" backend (or "auto") and hold for
all of them. Every refusal must be a ValueError or TypeError whose message names the argument.
"""
import types

import pytest
import torch
import torch.nn.functional as F

import kernels
from kernels.arguments import check_conv2d_arguments


def x(n=2, c=4, h=8, w=8, **kw):
    return torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(0), **kw)


def wt(k=6, c=4, r=3, s=3, **kw):
    return torch.randn(k, c, r, s, generator=torch.Generator().manual_seed(1), **kw)


BAD_CALLS = {
    "input_not_a_tensor": (lambda: kernels.conv2d([[1.0]], wt()), TypeError, "input"),
    "input_rank_2": (lambda: kernels.conv2d(torch.randn(4, 8), wt()), ValueError, "input"),
    "input_rank_5": (lambda: kernels.conv2d(torch.randn(1, 1, 4, 8, 8), wt()), ValueError, "input"),
    "weight_rank_3": (lambda: kernels.conv2d(x(), torch.randn(6, 4, 3)), ValueError, "weight"),
    "weight_not_a_tensor": (lambda: kernels.conv2d(x(), 3.0), TypeError, "weight"),
    "integer_input": (lambda: kernels.conv2d(x().long(), wt()), TypeError, "input"),
    "complex_weight": (lambda: kernels.conv2d(x(), wt(dtype=torch.complex64)), TypeError, "weight"),
    "mixed_dtypes": (lambda: kernels.conv2d(x(), wt(dtype=torch.float64)), TypeError, "weight"),
    "bias_dtype": (lambda: kernels.conv2d(x(), wt(), torch.zeros(6, dtype=torch.float64)), TypeError, "bias"),
    "mixed_devices": (lambda: kernels.conv2d(x(), wt(device="meta")), ValueError, "weight"),
    "channel_mismatch": (lambda: kernels.conv2d(x(c=5), wt()), ValueError, "channels"),
    "channel_mismatch_with_groups": (lambda: kernels.conv2d(x(c=4), wt(k=6, c=4), groups=2), ValueError, "groups"),
    "groups_not_dividing_input": (lambda: kernels.conv2d(x(c=6), wt(k=6, c=2), groups=4), ValueError, "groups"),
    "groups_not_dividing_output": (lambda: kernels.conv2d(x(c=4), wt(k=6, c=1), groups=4), ValueError, "groups"),
    "groups_zero": (lambda: kernels.conv2d(x(), wt(), groups=0), ValueError, "groups"),
    "groups_float": (lambda: kernels.conv2d(x(), wt(), groups=1.0), TypeError, "groups"),
    "bias_wrong_length": (lambda: kernels.conv2d(x(), wt(), torch.zeros(5)), ValueError, "bias"),
    "bias_rank_2": (lambda: kernels.conv2d(x(), wt(), torch.zeros(6, 1)), ValueError, "bias"),
    "stride_zero": (lambda: kernels.conv2d(x(), wt(), stride=0), ValueError, "stride"),
    "stride_negative_in_pair": (lambda: kernels.conv2d(x(), wt(), stride=(1, -1)), ValueError, "stride"),
    "stride_float": (lambda: kernels.conv2d(x(), wt(), stride=1.5), TypeError, "stride"),
    "stride_triple": (lambda: kernels.conv2d(x(), wt(), stride=(1, 1, 1)), TypeError, "stride"),
    "stride_bool": (lambda: kernels.conv2d(x(), wt(), stride=True), TypeError, "stride"),
    "dilation_zero": (lambda: kernels.conv2d(x(), wt(), dilation=(0, 1)), ValueError, "dilation"),
    "padding_negative": (lambda: kernels.conv2d(x(), wt(), padding=-1), ValueError, "padding"),
    "padding_unknown_string": (lambda: kernels.conv2d(x(), wt(), padding="full"), ValueError, "padding"),
    "padding_same_with_stride": (lambda: kernels.conv2d(x(), wt(), padding="same", stride=2), ValueError, "same"),
    "kernel_larger_than_input": (lambda: kernels.conv2d(x(h=2, w=2), wt()), ValueError, "padded input"),
    "dilated_kernel_larger_than_padded_input": (
        lambda: kernels.conv2d(x(h=6, w=6), wt(), padding=1, dilation=4), ValueError, "padded input"),
    "empty_image": (lambda: kernels.conv2d(x(h=0), wt()), ValueError, "input"),
    "no_output_channel": (lambda: kernels.conv2d(x(), wt(k=0)), ValueError, "weight"),
    "empty_kernel": (lambda: kernels.conv2d(x(), wt(r=0)), ValueError, "weight"),
    "unknown_backend": (lambda: kernels.conv2d(x(), wt(), backend="numpy"), ValueError, "backend"),
    "backend_not_a_string": (lambda: kernels.conv2d(x(), wt(), backend=None), TypeError, "backend"),
}


@pytest.mark.parametrize("case", list(BAD_CALLS))
def test_bad_call_raises_error_naming_the_argument(case):
    call, error, named = BAD_CALLS[case]
    with pytest.raises(error, match=named):
        call()


def registry_entry(module):
    """A resolved registry entry whose conv2d and group module is `module` (a test double)."""
    return kernels._Entry((module, module), module.available(), module.available())


def test_unavailable_backend_raises_with_its_reason(monkeypatch):
    broken = types.SimpleNamespace(available=lambda: (False, "no compiler found (test double)"))
    monkeypatch.setitem(kernels._entries, "cpp", registry_entry(broken))
    with pytest.raises(ValueError, match=r"backend='cpp'.*no compiler found \(test double\)"):
        kernels.conv2d(x(), wt(), backend="cpp")


def test_backend_refuses_dtype_it_does_not_support(monkeypatch):
    narrow = types.SimpleNamespace(available=lambda: (True, ""), SUPPORTED_DTYPES=(torch.float32,), DEVICE="cpu")
    monkeypatch.setitem(kernels._entries, "cpp", registry_entry(narrow))
    with pytest.raises(TypeError, match="backend='cpp'.*float64"):
        kernels.conv2d(x(dtype=torch.float64), wt(dtype=torch.float64), backend="cpp")


def test_a_backend_that_fails_to_import_is_unavailable_with_the_reason(monkeypatch):
    def broken_import():
        raise ImportError("no module named 'fancy_compiler' (test double)")

    monkeypatch.setitem(kernels.REGISTRY, "cpp", broken_import)
    monkeypatch.setitem(kernels._entries, "cpp", None)  # so that monkeypatch restores the real entry (or none) after
    del kernels._entries["cpp"]
    ok, reason = kernels._entry("cpp").status
    assert not ok and "fancy_compiler" in reason
    with pytest.raises(ValueError, match="backend='cpp' is not available here: importing the cpp backend failed"):
        kernels.conv2d(x(), wt(), backend="cpp")


def test_a_backend_is_resolved_once(monkeypatch):
    """The registry imports a backend and asks whether it runs here once; later calls only look it up."""
    calls = []
    double = types.SimpleNamespace(available=lambda: calls.append(1) or (True, ""), conv2d=lambda *a: F.conv2d(*a))
    kernels._entry("torch")  # resolved for real, so that monkeypatch puts the real entry back afterwards
    monkeypatch.setitem(kernels.REGISTRY, "torch", lambda: calls.append("import") or (double, double))
    monkeypatch.delitem(kernels._entries, "torch")
    for _ in range(3):
        kernels.conv2d(x(), wt(), backend="torch")
    assert calls == ["import", 1, 1]  # imported once; conv2d and group availability asked once each


def test_backends_reports_every_name_with_a_reason_when_unavailable():
    report = kernels.backends()
    assert set(report) == {"torch", "triton", "cpp", "cuda"}
    assert report["torch"] == (True, "")
    for name, (ok, reason) in report.items():
        assert isinstance(ok, bool) and isinstance(reason, str)
        assert ok or reason, f"{name} is unavailable without a reason"


def test_auto_on_cpu_is_the_reference(monkeypatch):
    calls = []
    import kernels.reference as reference

    monkeypatch.setattr(reference, "conv2d", lambda *a: calls.append(a) or F.conv2d(*a))
    kernels.conv2d(x(), wt())
    assert len(calls) == 1


@pytest.mark.parametrize(
    "padding, dilation, kernel",
    [(0, 1, (3, 3)), (2, 1, (3, 3)), ((1, 2), (2, 1), (3, 2)), ("valid", 1, (3, 3)), ("same", 1, (3, 3)),
     ("same", 1, (2, 4)), ("same", (2, 1), (2, 2)), ("same", 3, (3, 2)), ([1], [2], (3, 3))],
)
def test_normalised_arguments_give_the_same_convolution_as_pytorch(padding, dilation, kernel):
    """Symmetric padding plus the dispatcher's extra bottom/right zeros reproduce F.conv2d exactly."""
    inp, weight = x(h=9, w=10, dtype=torch.float64), wt(r=kernel[0], s=kernel[1], dtype=torch.float64)
    args = check_conv2d_arguments(inp, weight, None, 1, padding, dilation, 1)
    assert all(isinstance(v, int) for v in args.stride + args.padding + args.dilation)
    padded = F.pad(inp, args.extra_padding) if args.extra_padding else inp
    ours = F.conv2d(padded, weight, None, args.stride, args.padding, args.dilation)
    expected = F.conv2d(inp, weight, None, 1, padding, dilation)
    assert ours.shape[-2:] == args.output_size
    torch.testing.assert_close(ours, expected, rtol=0, atol=0)  # same arithmetic, so exactly equal
    torch.testing.assert_close(kernels.conv2d(inp, weight, None, 1, padding, dilation), expected, rtol=0, atol=0)


def test_unbatched_input_gives_unbatched_output():
    inp, weight = x(n=1)[0], wt()
    out = kernels.conv2d(inp, weight, padding=1)
    torch.testing.assert_close(out, F.conv2d(inp, weight, padding=1), rtol=0, atol=0)
    assert out.shape == (6, 8, 8)


@pytest.mark.parametrize("backend", ["cpp", "triton"])
@pytest.mark.parametrize("s", [3, 2], ids=["square", "non_square"])  # cpp: the flat engine, the packed path
def test_empty_batch_gives_empty_output_with_gradients(backend, s):
    available, reason = kernels.backends()[backend]
    if not available:
        pytest.skip(reason)
    inp = x(n=0).requires_grad_()
    weight = wt(s=s).requires_grad_()
    out = kernels.conv2d(inp, weight, padding=1, backend=backend)
    assert out.shape == (0, 6, 8, 9 - s + 1 + 1)
    out.sum().backward()
    assert inp.grad.shape == inp.shape and torch.all(weight.grad == 0)


def test_channels_last_input_gives_channels_last_output():
    inp = x().contiguous(memory_format=torch.channels_last)
    out = kernels.conv2d(inp, wt(), padding=1)
    assert out.is_contiguous(memory_format=torch.channels_last)
