"""The "cuda" backend: conv2d by the CUDA kernels in ``kernels/csrc/cuda`` (tiled, shared memory).

Backend protocol as in ``kernels/__init__.py``. The kernels are compiled into the same
extension as the C++ ones (``kernels/extension.py``) when torch has CUDA and nvcc is found;
the operators ``torch.ops.conv_circuits.*`` then dispatch on the tensors' device, and the
derivatives of ``kernels/operators.py`` serve both backends.
float32, float16 and bfloat16 (accumulation in float32).
"""
from __future__ import annotations

import torch

from kernels import extension
from kernels.operators import convolve

DEVICE = "cuda"
SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
POISONS_OUTPUTS = True


def available() -> tuple[bool, str]:
    """(True, "") on a machine with an NVIDIA GPU, CUDA torch and nvcc; else (False, why)."""
    reason = extension.cuda_reason()  # "torch built without CUDA", "no nvcc ...", "no GPU"
    if reason:
        return False, reason
    return extension.status()


def conv2d(input, weight, bias, stride, padding, dilation, groups):
    """``F.conv2d`` on a CUDA device with the CUDA kernels; see the module docstring."""
    geometry = (list(stride), list(padding), list(dilation), int(groups), False)
    return convolve(extension.conv2d_family(), geometry, input, weight, bias)
