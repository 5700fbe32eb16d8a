"""The Triton conv2d as a differentiable function: forward kernel, then the three gradient kernels.

Used directly on a CPU (the interpreter, where `torch.library.wrap_triton` does not work) and as a
fallback on a GPU if registering the custom operator failed (see registration.py).
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from kernels.triton.forward import conv2d_forward
from kernels.triton.input_grad import conv2d_input_grad
from kernels.triton.weight_grad import conv2d_bias_grad, conv2d_weight_grad


class TritonConv2d(torch.autograd.Function):
    """conv2d(input, weight, bias) with Triton kernels for the output and for every gradient."""

    @staticmethod
    def forward(ctx, input, weight, bias, stride, padding, dilation, groups):
        input = input.contiguous()  # also turns channels-last and sliced views into plain NCHW
        weight = weight.contiguous()
        bias = bias.contiguous() if bias is not None else None
        ctx.save_for_backward(input, weight)
        ctx.geometry = (stride, padding, dilation, groups)
        ctx.has_bias = bias is not None
        return conv2d_forward(input, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    @once_differentiable  # second derivatives are not implemented: asking for them raises
    def backward(ctx, grad_output):
        input, weight = ctx.saved_tensors
        grad_output = grad_output.contiguous()
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = conv2d_input_grad(grad_output, weight, input.shape, *ctx.geometry)
        if ctx.needs_input_grad[1]:
            grad_weight = conv2d_weight_grad(grad_output, input, weight.shape, *ctx.geometry)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = conv2d_bias_grad(grad_output)
        return grad_input, grad_weight, grad_bias, None, None, None, None
