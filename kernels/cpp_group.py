"""The "cpp" backend of the group convolutions: fused C++ CPU kernels (``kernels/csrc/cpu/group_conv_*``).

Follows the group-backend protocol of ``kernels/__init__.py``: ``available()`` and
``p4_lift, p4_conv, p4m_lift, p4m_conv(input, weight, bias, stride, padding)`` taking checked
arguments (stride and symmetric padding as (height, width) pairs of ints). Each is one call of the
operator ``torch.ops.conv_circuits.group_conv_forward``, which never builds the expanded filter
bank of ``kernels/group_reference.py``: the kernel reads every transformed filter tap from the
weight through small per-element index tables. Differentiable every way torch asks through
``kernels/operators.py`` (the derivatives of each pass are passes of the same family); the weight
gradient sums over the G tied copies inside the kernel.

``algorithm="packed"`` (the default) is the fast path (``cpu/group_conv_{forward,input_grad,weight_grad}.cpp``);
``algorithm="direct"`` runs the readable loops of ``cpu/group_conv_direct.cpp``, forward and backward.
"""
from __future__ import annotations

import torch

from kernels import extension
from kernels.operators import convolve

DEVICE = "cpu"
SUPPORTED_DTYPES = (torch.float32, torch.float64)
POISONS_OUTPUTS = True  # honours kernels.poison.poisoned_outputs() (forward and backward)
ALGORITHMS = ("packed", "direct")

__all__ = ["available", "p4_lift", "p4_conv", "p4m_lift", "p4m_conv"]


def available() -> tuple[bool, str]:
    """(True, "") when the C++ extension builds and loads here, else (False, the reason)."""
    return extension.status()


def group_conv(input, weight, bias, stride, padding, order: int, *, algorithm: str = "packed"):
    """Lifting (weight of rank 4) or group convolution (rank 5) for the group of `order` elements."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    geometry = (int(order), list(stride), list(padding), algorithm == "direct")
    return convolve(extension.group_family(), geometry, input, weight, bias)


def p4_lift(input, weight, bias, stride, padding):
    return group_conv(input, weight, bias, stride, padding, 4)


def p4_conv(input, weight, bias, stride, padding):
    return group_conv(input, weight, bias, stride, padding, 4)


def p4m_lift(input, weight, bias, stride, padding):
    return group_conv(input, weight, bias, stride, padding, 8)


def p4m_conv(input, weight, bias, stride, padding):
    return group_conv(input, weight, bias, stride, padding, 8)
