"""The fused p4/p4m layers as a differentiable function: forward kernel, then the gradient kernels.

One `torch.autograd.Function` serves all four operations; `order` (4 or 8) and `lifting` say which.
As for conv2d (autograd.py), the kernels are called directly: `torch.library.wrap_triton` does not
work under the Triton interpreter.
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from kernels.triton.group_forward import group_conv_forward
from kernels.triton.group_input_grad import group_conv_input_grad
from kernels.triton.group_weight_grad import group_conv_bias_grad, group_conv_weight_grad


class TritonGroupConv(torch.autograd.Function):
    """Lifting (`lifting=True`) or group convolution over p4 (`order=4`) or p4m (`order=8`)."""

    @staticmethod
    def forward(ctx, input, weight, bias, stride, padding, order, lifting):
        input = input.contiguous()  # also turns sliced or permuted views into the plain layout
        weight = weight.contiguous()
        bias = bias.contiguous() if bias is not None else None
        ctx.save_for_backward(input, weight)
        ctx.geometry = (stride, padding, order, lifting)
        ctx.has_bias = bias is not None
        return group_conv_forward(input, weight, bias, stride, padding, order, lifting)

    @staticmethod
    @once_differentiable  # second derivatives are not implemented: asking for them raises
    def backward(ctx, grad_output):
        input, weight = ctx.saved_tensors
        grad_output = grad_output.contiguous()
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = group_conv_input_grad(grad_output, weight, input.shape, *ctx.geometry)
        if ctx.needs_input_grad[1]:
            grad_weight = group_conv_weight_grad(grad_output, input, weight.shape, *ctx.geometry)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = group_conv_bias_grad(grad_output)
        return grad_input, grad_weight, grad_bias, None, None, None, None
