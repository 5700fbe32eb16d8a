"""Forward conv2d in Triton, as an implicit GEMM.

Index map (check it with a pencil; every name below is a name in the kernel)
---------------------------------------------------------------------------
Sizes: input x (N, C, H, W), weight w (K, C/G, R, S), output y (N, K, P, Q), G groups,
with C_g = C/G input and K_g = K/G output channels per group.

Per group g the convolution is one matrix product  Y_g = X_g @ W_g  where
  rows    m = (n, p, q)  flattened as  m = (n*P + p)*Q + q,          0 <= m < N*P*Q
  columns j = output channel within the group, k = g*K_g + j,        0 <= j < K_g
  reduction t = (c_local, r, s) flattened as t = (c_local*R + r)*S + s, 0 <= t < C_g*R*S
and X_g is never built (that would be im2col): its element (m, t) is read straight from x:
  c = g*C_g + c_local
  h = p*stride_h - pad_h + r*dil_h,    w = q*stride_w - pad_w + s*dil_w
  X_g[m, t] = x[n, c, h, w] = x_ptr[((n*C + c)*H + h)*W + w]   if 0 <= h < H and 0 <= w < W
            = 0                                                 otherwise (that is the zero padding)
  W_g[t, j] = w[k, c_local, r, s] = w_ptr[k*(C_g*R*S) + t]      (t is exactly the flat (c_local, r, s))
  y[n, k, p, q] = y_ptr[(n*K + k)*P*Q + p*Q + q]

Program (pid_m, pid_j, g) computes the tile of rows pid_m*BLOCK_M ... +BLOCK_M and columns
pid_j*BLOCK_N ... +BLOCK_N of Y_g, looping over the reduction BLOCK_K at a time, accumulating in
float32 (float64 for float64 inputs), adding the bias, and storing in the output dtype.

Masks: `row_exists` (m < N*P*Q), `column_exists` (j < K_g), `reduction_exists` (t < C_g*R*S) guard
the ragged last tiles; `inside_image` guards the padding border and makes it read as zero.

The launcher, `conv2d_forward`, is under the kernel: it allocates y, and launches one program per
tile and group (block sizes and precision: launch.py).
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from kernels.poison import new_output
from kernels.triton.launch import autotuned, direct, launch_gemm, output_size, precision_constexprs


@triton.jit
def conv2d_forward_kernel(
    x_ptr, w_ptr, bias_ptr, y_ptr,
    N, C, H, W, K, P, Q, R, S,
    stride_h, stride_w, pad_h, pad_w, dil_h, dil_w,
    GROUPS,
    HAS_BIAS: tl.constexpr, ACC_FLOAT64: tl.constexpr, UPCAST_OPERANDS: tl.constexpr, DOT_PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_m = tl.program_id(0)
    pid_j = tl.program_id(1)
    g = tl.program_id(2)
    C_g = C // GROUPS
    K_g = K // GROUPS
    RS = R * S
    CRS = C_g * RS
    PQ = P * Q

    # Rows: output pixels (n, p, q).
    m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_exists = m < N * PQ
    n = (m // PQ).to(tl.int64)  # int64: n*C*H*W can pass 2**31 on big batches
    pq = m % PQ
    p = pq // Q
    q = pq % Q
    h_top = p * stride_h - pad_h
    w_left = q * stride_w - pad_w

    # Columns: output channels k of group g.
    j = pid_j * BLOCK_N + tl.arange(0, BLOCK_N)
    column_exists = j < K_g
    k = g * K_g + j

    if ACC_FLOAT64:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float64)
    else:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)

    for t_start in range(0, CRS, BLOCK_K):
        # Reduction: (c_local, r, s) flattened as t.
        t = t_start + tl.arange(0, BLOCK_K)
        reduction_exists = t < CRS
        c = g * C_g + t // RS
        r = (t % RS) // S
        s = t % S

        h = h_top[:, None] + r[None, :] * dil_h  # (BLOCK_M, BLOCK_K)
        w = w_left[:, None] + s[None, :] * dil_w
        inside_image = (h >= 0) & (h < H) & (w >= 0) & (w < W)
        x_tile = tl.load(
            x_ptr + ((n[:, None] * C + c[None, :]) * H + h) * W + w,
            mask=row_exists[:, None] & reduction_exists[None, :] & inside_image,
            other=0.0,
        )
        w_tile = tl.load(
            w_ptr + k[None, :] * CRS + t[:, None],  # (BLOCK_K, BLOCK_N)
            mask=reduction_exists[:, None] & column_exists[None, :],
            other=0.0,
        )
        if UPCAST_OPERANDS:
            x_tile = x_tile.to(tl.float32)
            w_tile = w_tile.to(tl.float32)
        acc = tl.dot(x_tile, w_tile, acc, input_precision=DOT_PRECISION)

    if HAS_BIAS:
        bias = tl.load(bias_ptr + k, mask=column_exists, other=0.0)
        acc += bias[None, :].to(acc.dtype)

    y_address = y_ptr + (n[:, None] * K + k[None, :]) * PQ + pq[:, None]
    tl.store(y_address, acc.to(y_ptr.dtype.element_ty), mask=row_exists[:, None] & column_exists[None, :])


SHAPE_KEY = ["N", "C", "H", "W", "K", "P", "Q", "R", "S", "stride_h", "stride_w", "GROUPS"]
_tuned_forward_kernel = autotuned(conv2d_forward_kernel, SHAPE_KEY)


def conv2d_geometry(x_shape, w_shape, y_shape, stride, padding, dilation, groups) -> tuple:
    """The size arguments of all three conv2d kernels: N, C, H, W, K, P, Q, R, S, strides, paddings, dilations, groups."""
    n, c, h, w = x_shape
    k, _, r, s = w_shape
    p, q = y_shape[2], y_shape[3]
    return (n, c, h, w, k, p, q, r, s, stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1], groups)


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups, wrap=direct):
    """y = conv2d(x, weight, bias); x and weight contiguous, bias contiguous or None."""
    n = x.shape[0]
    k, c_g, r, s = weight.shape
    p, q = output_size(x.shape, weight.shape, stride, padding, dilation)
    y = new_output((n, k, p, q), like=x)
    geometry = conv2d_geometry(x.shape, weight.shape, y.shape, stride, padding, dilation, groups)
    launch_gemm(
        _tuned_forward_kernel, wrap, "conv2d", rows=n * p * q, columns=k // groups, reduction=c_g * r * s,
        groups=groups, args=(x, weight, bias if bias is not None else x, y, *geometry),
        constexprs={"HAS_BIAS": bias is not None, **precision_constexprs(x.dtype)},
    )
    return y
