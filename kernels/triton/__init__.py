"""The "triton" backend: conv2d as implicit-GEMM Triton kernels, forward and backward.

forward.py, input_grad.py and weight_grad.py each open with an index map, then hold the kernel and
its launcher (which allocates the output and picks the grid); launch.py holds what the launchers
share (block sizes, autotuning, precision); registration.py makes every pass, conv2d's and the group
convolutions' (group.py), a PyTorch operator, and kernels/operators.py gives them their derivatives.

Without a GPU the kernels run through the Triton interpreter, which executes each program in
numpy: exact enough to check every index, but slow (use small shapes). The interpreter has to be
switched on before triton is imported: `import kernels` (which always runs
before this subpackage) sets TRITON_INTERPRET=1 when there is no GPU and the caller has not chosen.
"""
from __future__ import annotations

import torch

from kernels.operators import convolve
from kernels.triton.launch import INTERPRETING
from kernels.triton.registration import CONV2D

DEVICE = "cpu" if INTERPRETING else "cuda"
SUPPORTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
POISONS_OUTPUTS = True  # outputs and gradients are allocated through kernels.poison.new_output


def available() -> tuple[bool, str]:
    """True with the interpreter on a CPU, or on a CUDA GPU; else why not."""
    if INTERPRETING:
        return True, ""
    if not torch.cuda.is_available():
        return False, (
            "no CUDA GPU for compiled Triton kernels, and the interpreter is off (triton was imported before "
            "kernels, or TRITON_INTERPRET is not 1): set TRITON_INTERPRET=1 in the environment"
        )
    return True, ""


def conv2d(input, weight, bias, stride, padding, dilation, groups):
    """conv2d with checked arguments (pairs of ints, symmetric padding); differentiable every way."""
    return convolve(CONV2D, (list(stride), list(padding), list(dilation), int(groups)), input, weight, bias)


__all__ = ["available", "conv2d", "DEVICE", "SUPPORTED_DTYPES", "POISONS_OUTPUTS"]
