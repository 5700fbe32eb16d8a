"""Convolution kernels: one API, several backends, all checked against PyTorch.

    kernels.conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, backend="auto")
    kernels.backends() -> {name: (available, reason)}
    kernels.p4_lift / p4_conv / p4m_lift / p4m_conv(input, weight, bias=None, stride=1, padding=0, *, backend="auto")

`conv2d` means exactly what `torch.nn.functional.conv2d` means (and is differentiable in input,
weight and bias). The backends:

- "torch":  `kernels.reference`, F.conv2d itself: the reference every other backend is checked against;
- "triton": `kernels.triton`, implicit-GEMM Triton kernels (on a CPU through the Triton interpreter: slow);
- "cpp":    `kernels.cpp_backend`, C++ CPU kernels, compiled on first use;
- "cuda":   `kernels.cuda_backend`, CUDA kernels, on a machine with an NVIDIA GPU.

The group convolutions have a second module per backend: the reference `kernels.group_reference`
expands the filter bank; `kernels.triton.group`, `kernels.cpp_group` and `kernels.cuda_group` are
fused kernels that never build it. `kernels.group_backends()` reports them.

One dispatcher: `REGISTRY` maps each backend name to the function that imports its two modules. A
backend is resolved once, on first use, and cached (`_entries`), so a missing compiler or GPU makes
that backend unavailable (with the reason) and never breaks `import kernels`, and no call after the
first imports anything (which is what lets `torch.compile(fullgraph=True)` see through the API).
Below the backends, the operators `torch.ops.conv_circuits.*` (C++ and CUDA) and
`torch.ops.kernels_triton.*` dispatch by device, and `kernels/operators.py` gives every one of them
its derivatives (first, second, forward mode, torch.func) and batching rule.

What this module does for every backend, as `F.conv2d` does: checks the arguments (`kernels.arguments`),
autocast (eligible tensors are cast to the autocast dtype; a backend without that dtype computes in
float32 and returns the autocast dtype), a channels-last input or weight gives a channels-last output,
and with no input channel (or an empty batch) every output is a sum of no terms, i.e. the bias
(`F.conv2d` itself returns zero output channels when there is no input channel, pytorch/pytorch#56998).

A backend module provides `available() -> (bool, reason)` and
`conv2d(input, weight, bias, stride, padding, dilation, groups)` taking already checked arguments:
stride, padding, dilation as pairs of ints (padding symmetric), input on the backend's `DEVICE`
with a dtype in its `SUPPORTED_DTYPES` (both optional module attributes), maybe non-contiguous.
"""
from __future__ import annotations

import os
import sys
from typing import NamedTuple

import torch
import torch.nn.functional as F

from kernels.arguments import (
    check_backend_supports,
    check_conv2d_arguments,
    check_group_conv_arguments,
    check_tensor,
)

__all__ = ["conv2d", "backends", "group_backends", "backend_module", "BACKEND_NAMES", "p4_lift", "p4_conv",
           "p4m_lift", "p4m_conv"]


def _switch_on_triton_interpreter_without_gpu() -> None:
    """With no CUDA GPU, Triton can only run through its interpreter, chosen when triton is imported.

    So set TRITON_INTERPRET=1 here, at `import kernels`, before anything imports triton: unless
    the caller already chose, or triton is already imported (too late: the triton backend then
    reports itself unavailable and says to set TRITON_INTERPRET=1 in the environment).
    """
    if "TRITON_INTERPRET" in os.environ or "triton" in sys.modules or torch.cuda.is_available():
        return
    os.environ["TRITON_INTERPRET"] = "1"


_switch_on_triton_interpreter_without_gpu()


# --- the registry: backend name -> its (conv2d module, group module), imported on first use ----------

def _torch_modules():
    from kernels import group_reference, reference

    return reference, group_reference


def _triton_modules():
    from kernels import triton
    from kernels.triton import group

    return triton, group


def _cpp_modules():
    from kernels import cpp_backend, cpp_group

    return cpp_backend, cpp_group


def _cuda_modules():
    from kernels import cuda_backend, cuda_group

    return cuda_backend, cuda_group


REGISTRY = {"torch": _torch_modules, "triton": _triton_modules, "cpp": _cpp_modules, "cuda": _cuda_modules}
BACKEND_NAMES = tuple(REGISTRY)
# The group modules by name, for the test suites that read a module's DEVICE and SUPPORTED_DTYPES;
# dispatch never uses it (see REGISTRY).
GROUP_BACKEND_MODULES = {"torch": "kernels.group_reference", "triton": "kernels.triton.group",
                         "cpp": "kernels.cpp_group", "cuda": "kernels.cuda_group"}


class _Entry(NamedTuple):
    """A resolved backend: its modules (None if they do not import) and (available, reason) for each."""

    modules: tuple | None  # (conv2d module, group module)
    status: tuple[bool, str]
    group_status: tuple[bool, str]


_entries: dict[str, _Entry] = {}


def _module_status(module) -> tuple[bool, str]:
    try:
        ok, reason = module.available()
    except Exception as error:  # a broken backend must not break the others
        return False, f"checking {module.__name__} failed: {type(error).__name__}: {error}"
    return bool(ok), str(reason)


def _entry(name: str) -> _Entry:
    """The registry entry of `name`, resolved (imported, availability asked) once and cached."""
    if name not in _entries:
        try:
            modules = REGISTRY[name]()
        except Exception as error:  # a missing compiler or package must not break `import kernels`
            why = f"importing the {name} backend failed: {type(error).__name__}: {error}"
            _entries[name] = _Entry(None, (False, why), (False, why))
        else:
            _entries[name] = _Entry(modules, _module_status(modules[0]), _module_status(modules[1]))
    return _entries[name]


@torch.compiler.assume_constant_result  # resolved eagerly even when torch.compile traces the first call
def _status(name: str, group: bool) -> tuple[bool, str]:
    entry = _entry(name)
    return entry.group_status if group else entry.status


def backends() -> dict[str, tuple[bool, str]]:
    """For each backend name, (available, reason); the reason is "" when it is available."""
    return {name: _status(name, False) for name in BACKEND_NAMES}


def group_backends(names=None) -> dict[str, tuple[bool, str]]:
    """For each backend name (default: all), (available, reason) for the group convolutions.

    Asking about "cpp" imports its module, which builds the C++ extension if it is not built yet.
    """
    return {name: _status(name, True) for name in (names or BACKEND_NAMES)}


def backend_module(name: str, group: bool = False):
    """The module computing conv2d (or, with group=True, the group convolutions) for `name`; None if unavailable."""
    entry = _entry(name)
    return entry.modules[int(group)] if entry.modules is not None else None


def _supports(module, input: torch.Tensor) -> bool:
    return getattr(module, "DEVICE", None) in (None, input.device.type) and input.dtype in getattr(
        module, "SUPPORTED_DTYPES", (input.dtype,))


def _resolve(backend, input: torch.Tensor, op: str | None = None):
    """The module computing `op` (None: conv2d) for `backend`, on input's device; errors name the backend.

    "auto" is the reference on a CPU (the fastest there: it never picks the slow Triton interpreter),
    and on a GPU the first of cuda, triton that is available and takes the input's dtype.
    """
    group = op is not None
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string, one of {('auto',) + BACKEND_NAMES}, got {backend!r}")
    if backend == "auto":
        backend = "torch"
        if input.device.type == "cuda":
            for name in ("cuda", "triton"):
                if _status(name, group)[0] and _supports(_entries[name].modules[int(group)], input):
                    backend = name
                    break
    if backend not in REGISTRY:
        raise ValueError(f"backend must be 'auto' or one of {BACKEND_NAMES}, got {backend!r}")
    ok, reason = _status(backend, group)
    if not ok:
        raise ValueError(f"backend={backend!r} is not available{' for ' + op if group else ''} here: {reason}")
    module = _entries[backend].modules[int(group)]
    device = getattr(module, "DEVICE", None)
    if device is not None and input.device.type != device:
        raise ValueError(f"backend={backend!r} runs on {device} tensors, but input is on {input.device}")
    return backend, module


# --- what every backend shares: autocast, empty reductions, memory format ---------------------------

def _autocast(input, weight, bias):
    """Cast as autocast casts F.conv2d: floating tensors other than float64 to the autocast dtype."""
    device_type = input.device.type
    if not torch.is_autocast_enabled(device_type):
        return input, weight, bias
    dtype = torch.get_autocast_dtype(device_type)

    def cast(t):
        eligible = isinstance(t, torch.Tensor) and t.is_floating_point() and t.dtype != torch.float64
        return t.to(dtype) if eligible else t

    return cast(input), cast(weight), cast(bias)


def _in_backend_dtype(name, module, input, weight, bias):
    """Under autocast, a backend without the autocast dtype computes in float32; else its dtypes are checked.

    Returns the (maybe cast) tensors and the dtype the result must have.
    """
    dtype = input.dtype
    supported = getattr(module, "SUPPORTED_DTYPES", None)
    if supported is not None and dtype not in supported and torch.is_autocast_enabled(input.device.type) \
            and torch.float32 in supported:
        up = [t if t is None else t.float() for t in (input, weight, bias)]
        return (*up, dtype)
    check_backend_supports(name, module, input)
    return input, weight, bias, dtype


def _sum_of_no_terms(input, weight, bias, output_shape):
    """The output when there is nothing to sum (an empty batch, or no input channel): the bias.

    Written as arithmetic on input and weight (their sums are 0) so that both stay in the graph and
    get their (empty or zero) gradients, as for any other convolution.
    """
    zero = input.sum() * weight.sum()
    output = zero.expand(output_shape)
    if bias is not None:
        output = output + bias.view(1, -1, *([1] * (len(output_shape) - 2)))
    return output.contiguous()


def _suggests_channels_last(tensor) -> bool:
    """Whether PyTorch's `suggest_memory_format` says channels-last (c10's is_channels_last_strides_2d).

    The strides must grow in the order C, W, H, N, each at least the extent of the dimensions inside
    it; an ambiguous case (a size-1 dimension whose stride says nothing) counts as contiguous.
    """
    if tensor.dim() != 4 or tensor.stride(1) == 0:
        return False
    smallest = 0
    for d in (1, 3, 2, 0):
        size, stride = tensor.shape[d], tensor.stride(d)
        if size == 0 or stride < smallest or (d == 0 and smallest == tensor.stride(1)):
            return False
        smallest = stride * size if size > 1 else stride
    return True


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, backend="auto"):
    """2-D cross-correlation, exactly as `torch.nn.functional.conv2d`, computed by `backend`.

    input (N, C, H, W) or unbatched (C, H, W); weight (K, C/groups, R, S); bias (K,) or None.
    stride, dilation: int or pair, positive; padding: int or pair, non-negative, or 'same'
    (stride 1 only) or 'valid'. Returns (N, K, P, Q) (or (K, P, Q) for an unbatched input).
    Raises ValueError/TypeError naming the argument for bad input or an unavailable backend.
    """
    check_tensor(input, "input", rank=(3, 4))
    unbatched = input.dim() == 3
    if unbatched:
        input = input.unsqueeze(0)
    input, weight, bias = _autocast(input, weight, bias)
    args = check_conv2d_arguments(input, weight, bias, stride, padding, dilation, groups)
    name, module = _resolve(backend, input)
    input, weight, bias, dtype = _in_backend_dtype(name, module, input, weight, bias)
    # F.conv2d's output is channels-last when its input or its weight is: so is ours.
    channels_last = _suggests_channels_last(input) or _suggests_channels_last(weight)

    if args.extra_padding is not None:  # 'same' with an even kernel extent: the odd zero goes bottom/right
        input = F.pad(input, args.extra_padding)
    if input.shape[0] == 0 or input.shape[1] == 0:
        output = _sum_of_no_terms(input, weight, bias, (input.shape[0], weight.shape[0], *args.output_size))
    else:
        output = module.conv2d(input, weight, bias, args.stride, args.padding, args.dilation, args.groups)

    if channels_last:
        output = output.contiguous(memory_format=torch.channels_last)
    output = output.to(dtype)
    return output.squeeze(0) if unbatched else output


# --- group convolutions (p4, p4m) ------------------------------------------------------------------
# A backend's group module defines available(), p4_lift, p4_conv, p4m_lift, p4m_conv taking checked
# arguments (input, weight, bias, stride pair, symmetric padding pair). The fused modules never build
# the expanded filter bank; the "torch" one does (it is the reference).
_GROUP_ORDERS = {"p4_lift": 4, "p4_conv": 4, "p4m_lift": 8, "p4m_conv": 8}


def _group_op(op: str, input, weight, bias, stride, padding, backend):
    order = _GROUP_ORDERS[op]
    if isinstance(input, torch.Tensor):
        input, weight, bias = _autocast(input, weight, bias)
    args = check_group_conv_arguments(op, order, op.endswith("_lift"), input, weight, bias, stride, padding)
    name, module = _resolve(backend, input, op)
    input, weight, bias, dtype = _in_backend_dtype(name, module, input, weight, bias)
    if args.extra_padding is not None:  # padding='same' with an even kernel: the odd zero goes bottom/right
        input = F.pad(input, args.extra_padding)
    if input.shape[0] == 0 or input.shape[1] == 0:
        output_shape = (input.shape[0], weight.shape[0], order, *args.output_size)
        output = _sum_of_no_terms(input, weight, bias, output_shape)
    else:
        output = getattr(module, op)(input, weight, bias, args.stride, args.padding)
    return output.to(dtype)


def p4_lift(input, weight, bias=None, stride=1, padding=0, *, backend="auto"):
    """Lift an image to a p4 feature map: out[:, o, r] = input ⋆ rot90(weight[o], r).

    input (N, Cin, H, W); weight (Cout, Cin, k, k), square kernel; bias (Cout,) or None, shared over the
    group axis. stride, padding as in `conv2d`. Returns (N, Cout, 4, H', W'). Equivariant (DESIGN.md,
    "Group conventions") for odd k, padding k//2 or 0, a square input and (H + 2·padding − k) % stride == 0.
    """
    return _group_op("p4_lift", input, weight, bias, stride, padding, backend)


def p4_conv(input, weight, bias=None, stride=1, padding=0, *, backend="auto"):
    """p4 group convolution: out[:, o, g] = Σ_i,h input[:, i, h] ⋆ (g · weight[o, i, g⁻¹h]).

    input (N, Cin, 4, H, W); weight (Cout, Cin, 4, k, k), square kernel; bias (Cout,) or None, shared over
    the group axis. stride, padding as in `conv2d`. Returns (N, Cout, 4, H', W').
    """
    return _group_op("p4_conv", input, weight, bias, stride, padding, backend)


def p4m_lift(input, weight, bias=None, stride=1, padding=0, *, backend="auto"):
    """Lift an image to a p4m feature map: out[:, o, g] = input ⋆ (g · weight[o]), g = 4*m + r.

    input (N, Cin, H, W); weight (Cout, Cin, k, k), square kernel; bias (Cout,) or None, shared over the
    group axis. stride, padding as in `conv2d`. Returns (N, Cout, 8, H', W').
    """
    return _group_op("p4m_lift", input, weight, bias, stride, padding, backend)


def p4m_conv(input, weight, bias=None, stride=1, padding=0, *, backend="auto"):
    """p4m group convolution: out[:, o, g] = Σ_i,h input[:, i, h] ⋆ (g · weight[o, i, g⁻¹h]).

    input (N, Cin, 8, H, W); weight (Cout, Cin, 8, k, k), square kernel; bias (Cout,) or None, shared over
    the group axis. stride, padding as in `conv2d`. Returns (N, Cout, 8, H', W').
    """
    return _group_op("p4m_conv", input, weight, bias, stride, padding, backend)
