"""Register the Triton conv2d as PyTorch custom operators (on a GPU only).

`torch.library.triton_op` lets `torch.compile` see inside the operator: it traces the Python body,
where `torch.library.wrap_triton` marks each kernel launch, and it derives the fake (meta)
implementation from the same body. The backward pass is three more operators, wired in with
`register_autograd`.

Not used under the Triton interpreter: `wrap_triton` does not work there, so on a CPU the backend
calls the kernels through the plain `autograd.Function` in autograd.py.

(No `from __future__ import annotations` here: the operator schema is inferred from real type hints.)
"""
from typing import Optional

import torch
from torch.library import triton_op, wrap_triton

from kernels.triton.forward import conv2d_forward
from kernels.triton.input_grad import conv2d_input_grad
from kernels.triton.weight_grad import conv2d_bias_grad, conv2d_weight_grad

NAMESPACE = "kernels_triton"


def register():
    """Define the operators and return the forward one, `torch.ops.kernels_triton.conv2d`."""

    @triton_op(f"{NAMESPACE}::conv2d", mutates_args=())
    def conv2d(
        input: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
        stride: list[int], padding: list[int], dilation: list[int], groups: int,
    ) -> torch.Tensor:
        bias = bias.contiguous() if bias is not None else None
        return conv2d_forward(
            input.contiguous(), weight.contiguous(), bias, stride, padding, dilation, groups, wrap=wrap_triton
        )

    @triton_op(f"{NAMESPACE}::conv2d_input_grad", mutates_args=())
    def conv2d_input_grad_op(
        grad_output: torch.Tensor, weight: torch.Tensor, input_shape: list[int],
        stride: list[int], padding: list[int], dilation: list[int], groups: int,
    ) -> torch.Tensor:
        return conv2d_input_grad(
            grad_output.contiguous(), weight.contiguous(), tuple(input_shape),
            stride, padding, dilation, groups, wrap=wrap_triton,
        )

    @triton_op(f"{NAMESPACE}::conv2d_weight_grad", mutates_args=())
    def conv2d_weight_grad_op(
        grad_output: torch.Tensor, input: torch.Tensor, weight_shape: list[int],
        stride: list[int], padding: list[int], dilation: list[int], groups: int,
    ) -> torch.Tensor:
        return conv2d_weight_grad(
            grad_output.contiguous(), input.contiguous(), tuple(weight_shape),
            stride, padding, dilation, groups, wrap=wrap_triton,
        )

    @triton_op(f"{NAMESPACE}::conv2d_bias_grad", mutates_args=())
    def conv2d_bias_grad_op(grad_output: torch.Tensor) -> torch.Tensor:
        return conv2d_bias_grad(grad_output.contiguous(), wrap=wrap_triton)

    def setup_context(ctx, inputs, output):
        input, weight, bias, stride, padding, dilation, groups = inputs
        ctx.save_for_backward(input, weight)
        ctx.geometry = (stride, padding, dilation, groups)
        ctx.has_bias = bias is not None

    def backward(ctx, grad_output):
        input, weight = ctx.saved_tensors
        ops = getattr(torch.ops, NAMESPACE)
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = ops.conv2d_input_grad(grad_output, weight, list(input.shape), *ctx.geometry)
        if ctx.needs_input_grad[1]:
            grad_weight = ops.conv2d_weight_grad(grad_output, input, list(weight.shape), *ctx.geometry)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = ops.conv2d_bias_grad(grad_output)
        return grad_input, grad_weight, grad_bias, None, None, None, None

    conv2d.register_autograd(backward, setup_context=setup_context)
    return getattr(torch.ops, NAMESPACE).conv2d
