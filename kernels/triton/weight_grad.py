"""Gradients of conv2d with respect to its weight and bias, in Triton.

Index map (same names as forward.py: x (N, C, H, W), w (K, C_g, R, S), y (N, K, P, Q), G groups)
---------------------------------------------------------------------------------------------
Weight: every output pixel (n, p, q) of channel k used w[k, c_local, r, s] once, on the input pixel
  h = p*stride_h - pad_h + r*dil_h,   w = q*stride_w - pad_w + s*dil_w,
so  dw[k, c_local, r, s] = sum over (n, p, q) of dy[n, k, p, q] * x[n, c, h, w]  (x = 0 off the image).
Per group g this is the matrix product  dW_g = dY_g^T @ X_g  with X_g the implicit im2col matrix
of forward.py:
  rows    j = output channel within the group, k = g*K_g + j,               0 <= j < K_g
  columns t = (c_local, r, s) flattened as t = (c_local*R + r)*S + s,        0 <= t < C_g*R*S
  reduction m = (n, p, q) flattened as m = (n*P + p)*Q + q,                  0 <= m < N*P*Q
  dY_g^T[j, m] = dy_ptr[(n*K + k)*P*Q + p*Q + q]
  X_g[m, t]    = x_ptr[((n*C + c)*H + h)*W + w]  if 0 <= h < H and 0 <= w < W, else 0
  dw[k, c_local, r, s] = dw_ptr[k*(C_g*R*S) + t]
Program (pid_j, pid_t, g) computes one BLOCK_M x BLOCK_N tile of dW_g, looping over m.
Masks: `channel_exists` (j < K_g), `column_exists` (t < C_g*R*S), `reduction_exists`
(m < N*P*Q), `inside_image` (the padding border reads as zero).

Bias: db[k] = sum over (n, p, q) of dy[n, k, p, q]. Program pid_k sums channels
pid_k*BLOCK_K ... +BLOCK_K over m = (n, p, q), BLOCK_M pixels at a time.
Masks: `channel_exists` (k < K), `pixel_exists` (m < N*P*Q).

The launchers, `conv2d_weight_grad` and `conv2d_bias_grad`, are under the kernels.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from kernels.poison import new_output
from kernels.triton.forward import SHAPE_KEY, conv2d_geometry
from kernels.triton.launch import INTERPRETING, autotuned, block, direct, launch_gemm, precision_constexprs


@triton.jit
def conv2d_weight_grad_kernel(
    dy_ptr, x_ptr, dw_ptr,
    N, C, H, W, K, P, Q, R, S,
    stride_h, stride_w, pad_h, pad_w, dil_h, dil_w,
    GROUPS,
    ACC_FLOAT64: tl.constexpr, UPCAST_OPERANDS: tl.constexpr, DOT_PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_j = tl.program_id(0)
    pid_t = tl.program_id(1)
    g = tl.program_id(2)
    C_g = C // GROUPS
    K_g = K // GROUPS
    RS = R * S
    CRS = C_g * RS
    PQ = P * Q

    # Rows: output channels k of group g.
    j = pid_j * BLOCK_M + tl.arange(0, BLOCK_M)
    channel_exists = j < K_g
    k = g * K_g + j

    # Columns: (c_local, r, s) flattened as t.
    t = pid_t * BLOCK_N + tl.arange(0, BLOCK_N)
    column_exists = t < CRS
    c = g * C_g + t // RS
    r = (t % RS) // S
    s = t % S

    if ACC_FLOAT64:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float64)
    else:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)

    for m_start in range(0, N * PQ, BLOCK_K):
        # Reduction: output pixels (n, p, q) flattened as m.
        m = m_start + tl.arange(0, BLOCK_K)
        reduction_exists = m < N * PQ
        n = (m // PQ).to(tl.int64)
        pq = m % PQ
        p = pq // Q
        q = pq % Q

        dy_tile = tl.load(
            dy_ptr + (n[None, :] * K + k[:, None]) * PQ + pq[None, :],  # (BLOCK_M, BLOCK_K)
            mask=channel_exists[:, None] & reduction_exists[None, :],
            other=0.0,
        )
        h = p[:, None] * stride_h - pad_h + r[None, :] * dil_h  # (BLOCK_K, BLOCK_N)
        w = q[:, None] * stride_w - pad_w + s[None, :] * dil_w
        inside_image = (h >= 0) & (h < H) & (w >= 0) & (w < W)
        x_tile = tl.load(
            x_ptr + ((n[:, None] * C + c[None, :]) * H + h) * W + w,
            mask=reduction_exists[:, None] & column_exists[None, :] & inside_image,
            other=0.0,
        )
        if UPCAST_OPERANDS:
            dy_tile = dy_tile.to(tl.float32)
            x_tile = x_tile.to(tl.float32)
        acc = tl.dot(dy_tile, x_tile, acc, input_precision=DOT_PRECISION)

    dw_address = dw_ptr + k[:, None] * CRS + t[None, :]
    tl.store(dw_address, acc.to(dw_ptr.dtype.element_ty), mask=channel_exists[:, None] & column_exists[None, :])


@triton.jit
def conv2d_bias_grad_kernel(
    dy_ptr, db_ptr,
    N, K, PQ,
    ACC_FLOAT64: tl.constexpr,
    BLOCK_K: tl.constexpr, BLOCK_M: tl.constexpr,
):
    pid_k = tl.program_id(0)
    k = pid_k * BLOCK_K + tl.arange(0, BLOCK_K)
    channel_exists = k < K
    if ACC_FLOAT64:
        acc = tl.zeros((BLOCK_K,), dtype=tl.float64)
    else:
        acc = tl.zeros((BLOCK_K,), dtype=tl.float32)
    for m_start in range(0, N * PQ, BLOCK_M):
        m = m_start + tl.arange(0, BLOCK_M)
        pixel_exists = m < N * PQ
        n = (m // PQ).to(tl.int64)
        pq = m % PQ
        dy_tile = tl.load(
            dy_ptr + (n[None, :] * K + k[:, None]) * PQ + pq[None, :],  # (BLOCK_K, BLOCK_M)
            mask=channel_exists[:, None] & pixel_exists[None, :],
            other=0.0,
        )
        acc += tl.sum(dy_tile.to(acc.dtype), axis=1)
    tl.store(db_ptr + k, acc.to(db_ptr.dtype.element_ty), mask=channel_exists)


_tuned_weight_grad_kernel = autotuned(conv2d_weight_grad_kernel, SHAPE_KEY)


def conv2d_weight_grad(grad_y, x, w_shape, stride, padding, dilation, groups, wrap=direct):
    """dL/dweight for dL/dy = grad_y (contiguous), as a (K, C/G, R, S) tensor."""
    k, c_g, r, s = w_shape
    n, _, p, q = grad_y.shape
    grad_w = new_output(w_shape, like=grad_y)
    geometry = conv2d_geometry(x.shape, w_shape, grad_y.shape, stride, padding, dilation, groups)
    launch_gemm(
        _tuned_weight_grad_kernel, wrap, "conv2d", rows=k // groups, columns=c_g * r * s, reduction=n * p * q,
        groups=groups, args=(grad_y, x, grad_w, *geometry), constexprs=precision_constexprs(grad_y.dtype),
    )
    return grad_w


BIAS_BLOCK_K = 32  # on a GPU: channels per program of the bias gradient
BIAS_BLOCK_M = 256  # on a GPU: at most this many pixels per step


def conv2d_bias_grad(grad_y, wrap=direct):
    """dL/dbias for dL/dy = grad_y (contiguous), as a (K,) tensor."""
    n, k, p, q = grad_y.shape
    grad_b = new_output((k,), like=grad_y)
    if k == 0:
        return grad_b
    block_k = block(k, 64) if INTERPRETING else BIAS_BLOCK_K
    block_m = block(n * p * q, 1024 if INTERPRETING else BIAS_BLOCK_M)
    grid = (triton.cdiv(k, block_k),)
    wrap(conv2d_bias_grad_kernel)[grid](
        grad_y, grad_b, n, k, p * q,
        ACC_FLOAT64=grad_y.dtype == torch.float64, BLOCK_K=block_k, BLOCK_M=block_m,
    )
    return grad_b
