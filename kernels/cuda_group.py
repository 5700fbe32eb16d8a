"""The "cuda" backend of the group convolutions: fused CUDA kernels (``kernels/csrc/cuda/group_conv_*.cu``).

Same protocol and operators as ``kernels/cpp_group.py``: the operator
``torch.ops.conv_circuits.group_conv_forward`` dispatches on the tensors' device, and its
CUDA implementation (``cuda/group_conv_cuda_ops.cpp``) is compiled into the extension where torch
has CUDA and nvcc is found. float32, float16 and bfloat16 (accumulation in float32); the weight
gradient sums the G tied copies with atomicAdd.
"""
from __future__ import annotations

import torch

from kernels import extension
from kernels.cpp_group import p4_conv, p4_lift, p4m_conv, p4m_lift  # noqa: F401 (one operator, dispatched by device)

DEVICE = "cuda"
SUPPORTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
POISONS_OUTPUTS = True

__all__ = ["available", "p4_lift", "p4_conv", "p4m_lift", "p4m_conv"]


def available() -> tuple[bool, str]:
    """(True, "") on a machine with an NVIDIA GPU, CUDA torch and nvcc; else (False, why)."""
    reason = extension.cuda_reason()  # "torch built without CUDA", "no nvcc ...", "no GPU"
    if reason:
        return False, reason
    return extension.status()
