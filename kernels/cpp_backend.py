"""The "cpp" backend: conv2d by the C++ CPU kernels in ``kernels/csrc/cpu``.

Follows the backend protocol of ``kernels/__init__.py``: ``available()`` and
``conv2d(input, weight, bias, stride, padding, dilation, groups)`` with stride, padding and
dilation as (height, width) pairs of ints (padding symmetric) and groups an int.
Differentiable in input, weight and bias through the autograd formula registered on the
operator ``torch.ops.conv_circuits.conv2d_forward`` (see ``kernels/extension.py``).

``algorithm="packed"`` (the default) is the fast path: packed input patches and a
register-blocked inner product. ``algorithm="direct"`` runs the readable loops a lesson shows.
"""
from __future__ import annotations

import torch

from kernels import extension

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
    ops = extension.load()
    with extension.poison_outputs_if_asked():
        return ops.conv2d_forward(
            input.contiguous(), weight.contiguous(), None if bias is None else bias.contiguous(),
            list(stride), list(padding), list(dilation), int(groups), algorithm == "direct",
        )
