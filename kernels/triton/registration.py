"""The Triton kernels as PyTorch operators, conv2d and the group convolutions alike.

Six operators in the namespace `kernels_triton`, one per pass, with the same schemas as the C++
ones (csrc/conv2d_ops.cpp, csrc/group_conv_ops.cpp) minus their `direct` flag:

    conv2d_forward(input, weight, bias?, stride, padding, dilation, groups)           -> output
    conv2d_input_grad(grad_output, weight, input_size, stride, padding, dilation, groups) -> grad_input
    conv2d_weight_grad(grad_output, input, weight_size, stride, ...)                  -> (grad_weight, grad_bias)
    group_conv_forward(input, weight, bias?, order, stride, padding)                  -> output
    group_conv_input_grad(grad_output, weight, input_size, order, stride, padding)    -> grad_input
    group_conv_weight_grad(grad_output, input, weight_size, order, stride, padding)   -> (grad_weight, grad_bias)

(a group op lifts when its weight has rank 4). `CONV2D` and `GROUP` are their families: the
derivatives of every pass are passes of the same family, registered by kernels/operators.py.

On a GPU each is a `torch.library.triton_op`: `torch.compile` traces its body, where
`torch.library.wrap_triton` marks each kernel launch, so inductor sees the kernels themselves, and the
fake (meta) implementation is that same body. Under the Triton interpreter (a CPU) `wrap_triton` does
not work, so each is a plain `torch.library.custom_op` calling the launchers directly, with the
shape-only fakes of kernels/operators.py: compiled graphs then call it as one opaque operator.

(No `from __future__ import annotations` here: the operator schemas are inferred from real type hints.)
"""
from typing import Optional

import torch
from torch.library import custom_op, triton_op, wrap_triton

from kernels.operators import Family, register
from kernels.triton.forward import conv2d_forward
from kernels.triton.group_forward import group_conv_forward
from kernels.triton.group_input_grad import group_conv_input_grad
from kernels.triton.group_weight_grad import group_conv_bias_grad, group_conv_weight_grad
from kernels.triton.input_grad import conv2d_input_grad
from kernels.triton.launch import INTERPRETING, direct
from kernels.triton.weight_grad import conv2d_bias_grad, conv2d_weight_grad

NAMESPACE = "kernels_triton"
_operator = custom_op if INTERPRETING else triton_op
_wrap = direct if INTERPRETING else wrap_triton


def _contiguous(tensor):
    return None if tensor is None else tensor.contiguous()  # also turns channels-last and sliced views into NCHW


@_operator(f"{NAMESPACE}::conv2d_forward", mutates_args=())
def conv2d_forward_op(
    input: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
    stride: list[int], padding: list[int], dilation: list[int], groups: int,
) -> torch.Tensor:
    return conv2d_forward(input.contiguous(), weight.contiguous(), _contiguous(bias), stride, padding, dilation, groups,
                          wrap=_wrap)


@_operator(f"{NAMESPACE}::conv2d_input_grad", mutates_args=())
def conv2d_input_grad_op(
    grad_output: torch.Tensor, weight: torch.Tensor, input_size: list[int],
    stride: list[int], padding: list[int], dilation: list[int], groups: int,
) -> torch.Tensor:
    return conv2d_input_grad(grad_output.contiguous(), weight.contiguous(), tuple(input_size), stride, padding, dilation,
                             groups, wrap=_wrap)


@_operator(f"{NAMESPACE}::conv2d_weight_grad", mutates_args=())
def conv2d_weight_grad_op(
    grad_output: torch.Tensor, input: torch.Tensor, weight_size: list[int],
    stride: list[int], padding: list[int], dilation: list[int], groups: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    grad_output = grad_output.contiguous()
    grad_weight = conv2d_weight_grad(grad_output, input.contiguous(), tuple(weight_size), stride, padding, dilation,
                                     groups, wrap=_wrap)
    return grad_weight, conv2d_bias_grad(grad_output, wrap=_wrap)


@_operator(f"{NAMESPACE}::group_conv_forward", mutates_args=())
def group_conv_forward_op(
    input: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
    order: int, stride: list[int], padding: list[int],
) -> torch.Tensor:
    lifting = weight.dim() == 4
    return group_conv_forward(input.contiguous(), weight.contiguous(), _contiguous(bias), stride, padding, order, lifting,
                              wrap=_wrap)


@_operator(f"{NAMESPACE}::group_conv_input_grad", mutates_args=())
def group_conv_input_grad_op(
    grad_output: torch.Tensor, weight: torch.Tensor, input_size: list[int],
    order: int, stride: list[int], padding: list[int],
) -> torch.Tensor:
    lifting = weight.dim() == 4
    return group_conv_input_grad(grad_output.contiguous(), weight.contiguous(), tuple(input_size), stride, padding,
                                 order, lifting, wrap=_wrap)


@_operator(f"{NAMESPACE}::group_conv_weight_grad", mutates_args=())
def group_conv_weight_grad_op(
    grad_output: torch.Tensor, input: torch.Tensor, weight_size: list[int],
    order: int, stride: list[int], padding: list[int],
) -> tuple[torch.Tensor, torch.Tensor]:
    lifting = len(weight_size) == 4
    grad_output = grad_output.contiguous()
    grad_weight = group_conv_weight_grad(grad_output, input.contiguous(), tuple(weight_size), stride, padding, order,
                                         lifting, wrap=_wrap)
    return grad_weight, group_conv_bias_grad(grad_output, wrap=_wrap)


_ops = getattr(torch.ops, NAMESPACE)
CONV2D = Family(_ops.conv2d_forward, _ops.conv2d_input_grad, _ops.conv2d_weight_grad, groups_index=3)
GROUP = Family(_ops.group_conv_forward, _ops.group_conv_input_grad, _ops.group_conv_weight_grad, groups_index=None)
# A triton_op's fake implementation is its own body; a custom_op needs the shape-only one.
register(CONV2D, fake=INTERPRETING)
register(GROUP, fake=INTERPRETING)
