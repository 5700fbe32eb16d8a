"""The "triton" backend of the group convolutions p4_lift, p4_conv, p4m_lift, p4m_conv: fused kernels.

The reference (kernels/group_reference.py) builds the expanded filter bank, G transformed copies of
every filter, and hands it to conv2d. These kernels never build it: the implicit GEMM that loads a
weight tile computes, for each entry of the expanded bank, which parameter it is a copy of
(group_index.py: the index tables of kernels/groups.py, read by the kernel), and the weight
gradient adds up the G tied copies inside the kernel.

  group_index.py        the index tables on the kernel's device, and the arguments every launcher passes
  group_forward.py      y = x ⋆ expanded bank (kernel and launcher)
  group_input_grad.py   dL/dx (kernel and launcher)
  group_weight_grad.py  dL/dw, summed over the tied copies (dL/dbias: conv2d's bias kernel)
  registration.py       the six passes (conv2d's and these) as PyTorch operators

Functions here take checked arguments (stride and padding as pairs of ints); call them through
`kernels.p4_lift` and friends, which check. Runs where the conv2d Triton backend runs (a GPU, or a
CPU through the Triton interpreter, slowly), on the same device and dtypes.
"""
from __future__ import annotations

import kernels.triton as _conv2d_backend
from kernels.operators import convolve
from kernels.triton.registration import GROUP

DEVICE = _conv2d_backend.DEVICE
SUPPORTED_DTYPES = _conv2d_backend.SUPPORTED_DTYPES
POISONS_OUTPUTS = True

__all__ = ["available", "p4_lift", "p4_conv", "p4m_lift", "p4m_conv", "DEVICE", "SUPPORTED_DTYPES", "POISONS_OUTPUTS"]


def available() -> tuple[bool, str]:
    """Where the conv2d Triton backend is available, and for the same reason when it is not."""
    return _conv2d_backend.available()


def _pair(value, name) -> tuple[int, int]:
    pair = tuple(value)
    if len(pair) != 2 or not all(isinstance(item, int) and not isinstance(item, bool) for item in pair):
        raise TypeError(f"{name} must be a pair of ints (checked by kernels.p4_lift and friends), got {value!r}")
    return pair


def _apply(input, weight, bias, stride, padding, order, lifting):
    # The operators tell lifting from the weight's rank; `lifting` documents the call.
    geometry = (order, list(_pair(stride, "stride")), list(_pair(padding, "padding")))
    return convolve(GROUP, geometry, input, weight, bias)


def p4_lift(input, weight, bias, stride, padding):
    """(N, Cin, H, W), (Cout, Cin, k, k) -> (N, Cout, 4, H', W')."""
    return _apply(input, weight, bias, stride, padding, order=4, lifting=True)


def p4_conv(input, weight, bias, stride, padding):
    """(N, Cin, 4, H, W), (Cout, Cin, 4, k, k) -> (N, Cout, 4, H', W')."""
    return _apply(input, weight, bias, stride, padding, order=4, lifting=False)


def p4m_lift(input, weight, bias, stride, padding):
    """(N, Cin, H, W), (Cout, Cin, k, k) -> (N, Cout, 8, H', W')."""
    return _apply(input, weight, bias, stride, padding, order=8, lifting=True)


def p4m_conv(input, weight, bias, stride, padding):
    """(N, Cin, 8, H, W), (Cout, Cin, 8, k, k) -> (N, Cout, 8, H', W')."""
    return _apply(input, weight, bias, stride, padding, order=8, lifting=False)
