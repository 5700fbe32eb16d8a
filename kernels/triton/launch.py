"""Launch the Triton conv2d kernels: output allocation, grids and block sizes.

Two ways to pick block sizes:
- under the interpreter (a CPU, `TRITON_INTERPRET=1`) every program runs one after another in
  numpy, so the fewer and larger the tiles the faster: blocks are the problem size rounded up to a
  power of two, capped;
- on a GPU, `triton.autotune` times a small set of configurations per problem shape once and keeps
  the fastest.

Every launcher takes `wrap`, applied to the kernel before launching: the identity for a direct
call, `torch.library.wrap_triton` inside a `torch.library.triton_op` (see registration.py).
"""
from __future__ import annotations

import os

import torch
import triton

from kernels.poison import new_output
from kernels.triton.forward import conv2d_forward_kernel
from kernels.triton.input_grad import conv2d_input_grad_kernel
from kernels.triton.weight_grad import conv2d_bias_grad_kernel, conv2d_weight_grad_kernel

INTERPRETING = os.environ.get("TRITON_INTERPRET") == "1"

_SHAPE_KEY = ["N", "C", "H", "W", "K", "P", "Q", "R", "S", "stride_h", "stride_w", "GROUPS"]
_GEMM_CONFIGS = [
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 32}, num_warps=8, num_stages=3),
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 64, "BLOCK_K": 32}, num_warps=4, num_stages=3),
    triton.Config({"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32}, num_warps=4, num_stages=4),
    triton.Config({"BLOCK_M": 64, "BLOCK_N": 32, "BLOCK_K": 32}, num_warps=4, num_stages=3),
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 16, "BLOCK_K": 16}, num_warps=4, num_stages=3),  # few channels per group
]


def _autotuned(kernel):
    return triton.autotune(configs=_GEMM_CONFIGS, key=_SHAPE_KEY)(kernel)


if INTERPRETING:
    _KERNELS = {"forward": conv2d_forward_kernel, "input": conv2d_input_grad_kernel, "weight": conv2d_weight_grad_kernel}
else:
    _KERNELS = {
        "forward": _autotuned(conv2d_forward_kernel),
        "input": _autotuned(conv2d_input_grad_kernel),
        "weight": _autotuned(conv2d_weight_grad_kernel),
    }


def _block(size: int, cap: int) -> int:
    """`size` rounded up to a power of two, at least 16 (tl.dot's smallest tile) and at most `cap`."""
    return max(16, min(cap, triton.next_power_of_2(size)))


def _launch_gemm(kind, wrap, rows, columns, reduction, groups, args, constexprs):
    """Launch one implicit-GEMM kernel over a rows x columns output per group."""
    kernel = _KERNELS[kind]
    if INTERPRETING:
        blocks = {"BLOCK_M": _block(rows, 128), "BLOCK_N": _block(columns, 64), "BLOCK_K": _block(reduction, 64)}
        grid = (triton.cdiv(rows, blocks["BLOCK_M"]), triton.cdiv(columns, blocks["BLOCK_N"]), groups)
        wrap(kernel)[grid](*args, **constexprs, **blocks)
    else:
        def grid(meta):
            return (triton.cdiv(rows, meta["BLOCK_M"]), triton.cdiv(columns, meta["BLOCK_N"]), groups)

        wrap(kernel)[grid](*args, **constexprs)


def _upcast_operands(dtype) -> bool:
    """The interpreter's tl.dot gets bfloat16 wrong (it multiplies the raw bits): feed it float32."""
    return INTERPRETING and dtype == torch.bfloat16


def _direct(kernel):
    return kernel


def _geometry(x_shape, w_shape, y_shape, stride, padding, dilation, groups):
    n, c, h, w = x_shape
    k, _, r, s = w_shape
    p, q = y_shape[2], y_shape[3]
    return (n, c, h, w, k, p, q, r, s, stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1], groups)


def output_size(x_shape, w_shape, stride, padding, dilation) -> tuple[int, int]:
    """(P, Q) of a convolution with symmetric padding."""
    h, w = x_shape[2], x_shape[3]
    r, s = w_shape[2], w_shape[3]
    p = (h + 2 * padding[0] - dilation[0] * (r - 1) - 1) // stride[0] + 1
    q = (w + 2 * padding[1] - dilation[1] * (s - 1) - 1) // stride[1] + 1
    return p, q


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups, wrap=_direct):
    """y = conv2d(x, weight, bias); x and weight contiguous, bias contiguous or None."""
    n, c = x.shape[:2]
    k, c_g, r, s = weight.shape
    p, q = output_size(x.shape, weight.shape, stride, padding, dilation)
    y = new_output((n, k, p, q), like=x)
    geometry = _geometry(x.shape, weight.shape, y.shape, stride, padding, dilation, groups)
    _launch_gemm(
        "forward", wrap, rows=n * p * q, columns=k // groups, reduction=c_g * r * s, groups=groups,
        args=(x, weight, bias if bias is not None else x, y, *geometry),
        constexprs={"HAS_BIAS": bias is not None, "ACC_FLOAT64": x.dtype == torch.float64,
                    "UPCAST_OPERANDS": _upcast_operands(x.dtype)},
    )
    return y


def conv2d_input_grad(grad_y, weight, x_shape, stride, padding, dilation, groups, wrap=_direct):
    """dL/dx for dL/dy = grad_y (contiguous), as an (N, C, H, W) tensor."""
    n, c, h, w = x_shape
    k, c_g, r, s = weight.shape
    grad_x = new_output(x_shape, like=grad_y)
    geometry = _geometry(x_shape, weight.shape, grad_y.shape, stride, padding, dilation, groups)
    _launch_gemm(
        "input", wrap, rows=n * h * w, columns=c_g, reduction=(k // groups) * r * s, groups=groups,
        args=(grad_y, weight, grad_x, *geometry),
        constexprs={"ACC_FLOAT64": grad_y.dtype == torch.float64, "UPCAST_OPERANDS": _upcast_operands(grad_y.dtype)},
    )
    return grad_x


def conv2d_weight_grad(grad_y, x, w_shape, stride, padding, dilation, groups, wrap=_direct):
    """dL/dweight for dL/dy = grad_y (contiguous), as a (K, C/G, R, S) tensor."""
    k, c_g, r, s = w_shape
    n, _, p, q = grad_y.shape
    grad_w = new_output(w_shape, like=grad_y)
    geometry = _geometry(x.shape, w_shape, grad_y.shape, stride, padding, dilation, groups)
    _launch_gemm(
        "weight", wrap, rows=k // groups, columns=c_g * r * s, reduction=n * p * q, groups=groups,
        args=(grad_y, x, grad_w, *geometry),
        constexprs={"ACC_FLOAT64": grad_y.dtype == torch.float64, "UPCAST_OPERANDS": _upcast_operands(grad_y.dtype)},
    )
    return grad_w


def conv2d_bias_grad(grad_y, wrap=_direct):
    """dL/dbias for dL/dy = grad_y (contiguous), as a (K,) tensor."""
    n, k, p, q = grad_y.shape
    grad_b = new_output((k,), like=grad_y)
    block_k = _block(k, 64) if INTERPRETING else 32
    block_m = _block(n * p * q, 1024 if INTERPRETING else 256)
    grid = (triton.cdiv(k, block_k),)
    wrap(conv2d_bias_grad_kernel)[grid](
        grad_y, grad_b, n, k, p * q,
        ACC_FLOAT64=grad_y.dtype == torch.float64, BLOCK_K=block_k, BLOCK_M=block_m,
    )
    return grad_b
