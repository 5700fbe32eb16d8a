"""Launch the fused group-convolution kernels: output allocation, grids and block sizes.

Block sizes are chosen as for conv2d (launch.py): under the interpreter, one or a few tiles as large
as the problem (each program runs in numpy, one after another; the weight gradient's columns,
CIN*G*k*k, are the widest dimension here, hence the larger caps); on a GPU, `triton.autotune` over
conv2d's configurations, keyed on the problem shape.

Every launcher takes the group order `order` (4 for p4, 8 for p4m) and `lifting` (input without a
group axis, weight (COUT, CIN, k, k)) or not (input (N, CIN, G, H, W), weight (COUT, CIN, G, k, k)).
Inputs must be contiguous; outputs come from kernels.poison.new_output.
"""
from __future__ import annotations

import torch
import triton

from kernels.poison import new_output
from kernels.triton.group_forward import group_conv_forward_kernel
from kernels.triton.group_input_grad import group_conv_input_grad_kernel
from kernels.triton.group_weight_grad import group_conv_weight_grad_kernel
from kernels.triton.launch import _GEMM_CONFIGS, INTERPRETING, _block, _upcast_operands, conv2d_bias_grad, output_size

# Under the interpreter: the largest tile per GEMM dimension (the tests lower them to force many tiles).
INTERPRETER_BLOCK_CAPS = {"BLOCK_M": 128, "BLOCK_N": 256, "BLOCK_K": 128}
_SHAPE_KEY = ["N", "CIN", "H", "W", "COUT", "P", "Q", "k", "stride_h", "stride_w", "G", "G_IN"]


def _autotuned(kernel):
    return triton.autotune(configs=_GEMM_CONFIGS, key=_SHAPE_KEY)(kernel)


if INTERPRETING:
    _KERNELS = {
        "forward": group_conv_forward_kernel,
        "input": group_conv_input_grad_kernel,
        "weight": group_conv_weight_grad_kernel,
    }
else:
    _KERNELS = {
        "forward": _autotuned(group_conv_forward_kernel),
        "input": _autotuned(group_conv_input_grad_kernel),
        "weight": _autotuned(group_conv_weight_grad_kernel),
    }


def _launch_gemm(kind, rows, columns, reduction, args, constexprs):
    """Launch one implicit-GEMM kernel over a rows x columns output."""
    kernel = _KERNELS[kind]
    if rows == 0 or columns == 0:  # an empty batch: nothing to write (an empty reduction still writes zeros)
        return
    if INTERPRETING:
        caps = INTERPRETER_BLOCK_CAPS
        blocks = {
            "BLOCK_M": _block(rows, caps["BLOCK_M"]),
            "BLOCK_N": _block(columns, caps["BLOCK_N"]),
            "BLOCK_K": _block(reduction, caps["BLOCK_K"]),
        }
        grid = (triton.cdiv(rows, blocks["BLOCK_M"]), triton.cdiv(columns, blocks["BLOCK_N"]))
        kernel[grid](*args, **constexprs, **blocks)
    else:
        def grid(meta):
            return (triton.cdiv(rows, meta["BLOCK_M"]), triton.cdiv(columns, meta["BLOCK_N"]))

        kernel[grid](*args, **constexprs)


def _geometry(x_shape, w_shape, pq, stride, padding):
    """The kernels' size arguments: N, CIN, H, W, COUT, P, Q, k, stride_h, stride_w, pad_h, pad_w."""
    n, cin, h, w = x_shape[0], x_shape[1], x_shape[-2], x_shape[-1]
    cout, k = w_shape[0], w_shape[-1]
    return (n, cin, h, w, cout, pq[0], pq[1], k, stride[0], stride[1], padding[0], padding[1])


def _constexprs(order, lifting, dtype):
    return {
        "G": order, "G_IN": 1 if lifting else order, "LIFTING": lifting,
        "ACC_FLOAT64": dtype == torch.float64, "UPCAST_OPERANDS": _upcast_operands(dtype),
    }


def _flat_image_shape(x_shape):
    return (x_shape[0], x_shape[1], x_shape[-2], x_shape[-1])


def group_conv_forward(x, weight, bias, stride, padding, order, lifting):
    """y (N, COUT, G, P, Q) of the lifting or group convolution; x, weight contiguous, bias contiguous or None."""
    n, cin = x.shape[:2]
    cout, k = weight.shape[0], weight.shape[-1]
    g_in = 1 if lifting else order
    p, q = output_size(_flat_image_shape(x.shape), (cout, cin, k, k), stride, padding, (1, 1))
    y = new_output((n, cout, order, p, q), like=x)
    _launch_gemm(
        "forward", rows=n * p * q, columns=cout * order, reduction=cin * g_in * k * k,
        args=(x, weight, bias if bias is not None else x, y, *_geometry(x.shape, weight.shape, (p, q), stride, padding)),
        constexprs={**_constexprs(order, lifting, x.dtype), "HAS_BIAS": bias is not None},
    )
    return y


def group_conv_input_grad(grad_y, weight, x_shape, stride, padding, order, lifting):
    """dL/dx for dL/dy = grad_y (contiguous, (N, COUT, G, P, Q)), shaped like the input."""
    n, cin, h, w = _flat_image_shape(x_shape)
    cout, k = weight.shape[0], weight.shape[-1]
    g_in = 1 if lifting else order
    grad_x = new_output(x_shape, like=grad_y)
    _launch_gemm(
        "input", rows=n * h * w, columns=cin * g_in, reduction=cout * order * k * k,
        args=(grad_y, weight, grad_x, *_geometry(x_shape, weight.shape, grad_y.shape[-2:], stride, padding)),
        constexprs=_constexprs(order, lifting, grad_y.dtype),
    )
    return grad_x


def group_conv_weight_grad(grad_y, x, w_shape, stride, padding, order, lifting):
    """dL/dweight for dL/dy = grad_y (contiguous), summed over the G tied copies, shaped like the weight."""
    n, cin = x.shape[:2]
    cout, k = w_shape[0], w_shape[-1]
    g_in = 1 if lifting else order
    p, q = grad_y.shape[-2:]
    grad_w = new_output(w_shape, like=grad_y)
    _launch_gemm(
        "weight", rows=cout, columns=cin * g_in * k * k, reduction=n * p * q,
        args=(grad_y, x, grad_w, *_geometry(x.shape, w_shape, (p, q), stride, padding)),
        constexprs=_constexprs(order, lifting, grad_y.dtype),
    )
    return grad_w


def group_conv_bias_grad(grad_y):
    """dL/dbias (COUT,): conv2d's bias gradient, for grad_y (N, COUT, G, P, Q) seen as (N, COUT, G*P, Q)."""
    n, cout, order, p, q = grad_y.shape
    return conv2d_bias_grad(grad_y.reshape(n, cout, order * p, q))
