"""The "cpp" backend: conv2d by the C++ CPU kernels in ``kernels/csrc/cpu``.

Follows the backend protocol of ``kernels/__init__.py``: ``available()`` and
``conv2d(input, weight, bias, stride, padding, dilation, groups)`` with stride, padding and
dilation as (height, width) pairs of ints (padding symmetric) and groups an int.
Differentiable every way torch asks (second derivatives, forward mode, ``torch.func``) through
``kernels/operators.py``, which also gives the operators ``torch.ops.conv_circuits.conv2d_*``
their own autograd (registered when ``kernels/extension.py`` loads the library).

``algorithm="packed"`` (the default) is the fast path: packed input patches and a
register-blocked inner product. ``algorithm="direct"`` runs the readable loops a lesson shows.
"""
from __future__ import annotations

import torch

from kernels import extension
from kernels.operators import convolve

DEVICE = "cpu"
SUPPORTED_DTYPES = (torch.float32, torch.float64)
POISONS_OUTPUTS = True  # honours kernels.poison.poisoned_outputs() (forward and backward)
ALGORITHMS = ("packed", "direct")


def available() -> tuple[bool, str]:
    """(True, "") when the C++ extension builds and loads here, else (False, the reason)."""
    return extension.status()


def conv2d(input, weight, bias, stride, padding, dilation, groups, *, algorithm: str = "packed"):
    """``F.conv2d`` on the CPU with the C++ kernels; see the module docstring."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    geometry = (list(stride), list(padding), list(dilation), int(groups), algorithm == "direct")
    return convolve(extension.conv2d_family(), geometry, input, weight, bias)
