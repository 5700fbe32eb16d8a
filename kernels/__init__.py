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

The group convolutions have their own modules per backend (`GROUP_BACKEND_MODULES`): the reference
`kernels.group_reference` expands the filter bank; `kernels.triton.group`, `kernels.cpp_group` and
`kernels.cuda_group` are fused kernels that never build it. `kernels.group_backends()` reports them.

Backend modules are imported only when first asked for, so a missing compiler or GPU makes that
backend unavailable (with the reason) and never breaks `import kernels`.

A backend module provides `available() -> (bool, reason)` and
`conv2d(input, weight, bias, stride, padding, dilation, groups)` taking already checked arguments:
stride, padding, dilation as pairs of ints (padding symmetric), input on the backend's `DEVICE`
with a dtype in its `SUPPORTED_DTYPES` (both optional module attributes), maybe non-contiguous.
"""
from __future__ import annotations

import importlib
import os
import sys

import torch
import torch.nn.functional as F

from kernels.arguments import (
    check_backend_supports,
    check_conv2d_arguments,
    check_group_conv_arguments,
    check_tensor,
)

__all__ = ["conv2d", "backends", "group_backends", "BACKEND_NAMES", "p4_lift", "p4_conv", "p4m_lift", "p4m_conv"]



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

BACKEND_MODULES = {
    "torch": "kernels.reference",
    "triton": "kernels.triton",
    "cpp": "kernels.cpp_backend",
    "cuda": "kernels.cuda_backend",
}
BACKEND_NAMES = tuple(BACKEND_MODULES)

_loaded: dict[str, tuple[object | None, str]] = {}


def _load(name: str):
    """(module, "") for a backend that imports, else (None, why it does not). Cached."""
    if name not in _loaded:
        module_name = BACKEND_MODULES[name]
        try:
            _loaded[name] = (importlib.import_module(module_name), "")
        except ModuleNotFoundError as error:
            if error.name == module_name:
                _loaded[name] = (None, f"{module_name} is not part of this installation")
            else:
                _loaded[name] = (None, f"importing {module_name} failed: {error}")
        except Exception as error:  # a broken backend must not break the others
            _loaded[name] = (None, f"importing {module_name} failed: {type(error).__name__}: {error}")
    return _loaded[name]


def _availability(name: str) -> tuple[bool, str]:
    module, reason = _load(name)
    if module is None:
        return False, reason
    try:
        ok, reason = module.available()
    except Exception as error:
        return False, f"checking {name} failed: {type(error).__name__}: {error}"
    return bool(ok), str(reason)


def backends() -> dict[str, tuple[bool, str]]:
    """For each backend name, (available, reason); the reason is "" when it is available."""
    return {name: _availability(name) for name in BACKEND_NAMES}


def _supports(name: str, input: torch.Tensor) -> bool:
    module, _ = _load(name)
    try:
        check_backend_supports(name, module, input)
    except (TypeError, ValueError):
        return False
    return True


def _resolve_backend(backend, input: torch.Tensor):
    """The backend module `backend` names, or the one "auto" picks; errors name the backend."""
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string, one of {('auto',) + BACKEND_NAMES}, got {backend!r}")
    if backend == "auto":
        # On a CPU the reference is the fastest choice: auto never picks the slow Triton interpreter.
        backend = "torch"
        if input.device.type == "cuda":
            for name in ("cuda", "triton"):
                if _availability(name)[0] and _supports(name, input):
                    backend = name
                    break
    if backend not in BACKEND_MODULES:
        raise ValueError(f"backend must be 'auto' or one of {BACKEND_NAMES}, got {backend!r}")
    ok, reason = _availability(backend)
    if not ok:
        raise ValueError(f"backend={backend!r} is not available here: {reason}")
    module, _ = _load(backend)
    check_backend_supports(backend, module, input)
    return module


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
    args = check_conv2d_arguments(input, weight, bias, stride, padding, dilation, groups)
    module = _resolve_backend(backend, input)
    # F.conv2d keeps a channels-last input channels-last; so do we (same values, same memory format).
    channels_last = not input.is_contiguous() and input.is_contiguous(memory_format=torch.channels_last)

    if args.extra_padding is not None:  # 'same' with an even kernel extent: the odd zero goes bottom/right
        input = F.pad(input, args.extra_padding)
    if input.shape[0] == 0:
        # An empty batch: nothing to compute, and F.conv2d already gives the right empty, differentiable result.
        output = F.conv2d(input, weight, bias, args.stride, args.padding, args.dilation, args.groups)
    else:
        output = module.conv2d(input, weight, bias, args.stride, args.padding, args.dilation, args.groups)

    if channels_last:
        output = output.contiguous(memory_format=torch.channels_last)
    return output.squeeze(0) if unbatched else output


# --- group convolutions (p4, p4m) ------------------------------------------------------------------
# A backend computes them when it appears here with a module that defines available(), p4_lift, p4_conv,
# p4m_lift, p4m_conv taking checked arguments (input, weight, bias, stride pair, symmetric padding pair).
# The fused modules never build the expanded filter bank; the "torch" one does (it is the reference).
GROUP_BACKEND_MODULES = {
    "torch": "kernels.group_reference",
    "triton": "kernels.triton.group",
    "cpp": "kernels.cpp_group",
    "cuda": "kernels.cuda_group",
}
_GROUP_ORDERS = {"p4_lift": 4, "p4_conv": 4, "p4m_lift": 8, "p4m_conv": 8}


def _group_availability(name: str) -> tuple[bool, str]:
    module_name = GROUP_BACKEND_MODULES[name]
    try:
        ok, reason = importlib.import_module(module_name).available()
    except Exception as error:  # a missing or broken fused backend must not break the others
        ok, reason = False, f"importing {module_name} failed: {type(error).__name__}: {error}"
    return bool(ok), str(reason)


def group_backends(names=None) -> dict[str, tuple[bool, str]]:
    """For each backend name (default: all), (available, reason) for the group convolutions.

    Asking about "cpp" imports its module, which builds the C++ extension if it is not built yet.
    """
    return {name: _group_availability(name) for name in (names or GROUP_BACKEND_MODULES)}


def _resolve_group_backend(op: str, backend, input: torch.Tensor):
    """The module computing `op` for `backend` ("auto": the fused kernels on a GPU, else the reference)."""
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a string, one of {('auto',) + BACKEND_NAMES}, got {backend!r}")
    if backend == "auto":
        backend = "torch"
        if input.device.type == "cuda":
            for name in ("cuda", "triton"):
                if _group_availability(name)[0] and _supports(name, input):
                    backend = name
                    break
    if backend not in GROUP_BACKEND_MODULES:
        raise ValueError(f"backend must be 'auto' or one of {tuple(GROUP_BACKEND_MODULES)}, got {backend!r}")
    ok, reason = _group_availability(backend)  # imports only the backend asked for (cpp builds on first use)
    if not ok:
        raise ValueError(f"backend={backend!r} is not available for {op} here: {reason}")
    module = importlib.import_module(GROUP_BACKEND_MODULES[backend])
    check_backend_supports(backend, module, input)
    return module


def _group_op(op: str, input, weight, bias, stride, padding, backend):
    args = check_group_conv_arguments(
        op, _GROUP_ORDERS[op], op.endswith("_lift"), input, weight, bias, stride, padding
    )
    module = _resolve_group_backend(op, backend, input)
    if args.extra_padding is not None:  # padding='same' with an even kernel: the odd zero goes bottom/right
        input = F.pad(input, args.extra_padding)
    if input.shape[0] == 0:  # an empty batch: the reference already gives the right empty, differentiable result
        module = importlib.import_module(GROUP_BACKEND_MODULES["torch"])
    return getattr(module, op)(input, weight, bias, args.stride, args.padding)


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
