"""Gradient of p4/p4m lifting and group convolution with respect to the input, in Triton.

Index map (same names as group_forward.py: x (N, CIN, [G_IN,] H, W), channel c = i*G_IN + e;
y (N, COUT, G, P, Q), channel j = o*G + g; Wexp the expanded filter bank, never built)
---------------------------------------------------------------------------------------------------
The forward pass sends x[n, c, h, w] into every y[n, j, p, q] whose window covers it, that is every
(j, u, v) with  h = p*stride_h - pad_h + u  and  w = q*stride_w - pad_w + v. Running that backwards,
for one input pixel and one filter pixel (u, v):
  p = (h + pad_h - u) / stride_h     must be a whole number with 0 <= p < P,
  q = (w + pad_w - v) / stride_w     must be a whole number with 0 <= q < Q,
and then  dx[n, c, h, w] += dy[n, j, p, q] * Wexp[j, c, u, v].

That is the matrix product  dX = dY @ Wexpᵀ  where
  rows      m = (n, h, w)   flattened as m = (n*H + h)*W + w,          0 <= m < N*H*W
  columns   c = (i, e)      the folded input channel,                  0 <= c < CIN*G_IN
  reduction s = (j, u, v)   flattened as s = (j*k + u)*k + v, j = o*G + g,  0 <= s < COUT*G*k*k
  dY[m, s]      = dy_ptr[((n*COUT*G + j)*P + p)*Q + q]    when p, q above exist (else 0)
  Wexpᵀ[s, c]   = w[o, i].flatten()[index[g, e*k*k + u*k + v]]    (group_index.py: the table)
  dx[n, c, h, w] = dx_ptr[((n*CIN*G_IN + c)*H + h)*W + w]

Program (pid_m, pid_c) computes rows pid_m*BLOCK_M ... +BLOCK_M and input channels
pid_c*BLOCK_N ... +BLOCK_N of dX, looping over s BLOCK_K at a time. With stride > 1 most (p, q)
candidates are not whole numbers and are masked off: simple and correct, not the fastest.

Masks: `row_exists` (m < N*H*W), `channel_exists` (c < CIN*G_IN), `reduction_exists`
(s < COUT*G*k*k), and `window_hits` (p, q whole numbers inside the output) says which dy elements
this pixel feeds. The table reads need no mask: g < G, e < G_IN and u*k + v < k*k always.

The launcher, `group_conv_input_grad`, is under the kernel.
"""
from __future__ import annotations

import triton
import triton.language as tl

from kernels.poison import new_output
from kernels.triton.group_index import SHAPE_KEY, filter_tables, group_constexprs, group_geometry
from kernels.triton.launch import autotuned, direct, launch_gemm


@triton.jit
def group_conv_input_grad_kernel(
    dy_ptr, w_ptr, dx_ptr, index_ptr,
    N, CIN, H, W, COUT, P, Q, k,
    stride_h, stride_w, pad_h, pad_w,
    G: tl.constexpr, G_IN: tl.constexpr,
    ACC_FLOAT64: tl.constexpr, UPCAST_OPERANDS: tl.constexpr, DOT_PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_m = tl.program_id(0)
    pid_c = tl.program_id(1)
    C = CIN * G_IN
    KK = k * k
    GKK = G_IN * KK  # the values of one w[o, i]
    JKK = COUT * G * KK
    HW = H * W

    # Rows: input pixels (n, h, w).
    m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_exists = m < N * HW
    n = (m // HW).to(tl.int64)
    hw = m % HW
    h = hw // W
    w = hw % W

    # Columns: folded input channels c = (i, e).
    c = pid_c * BLOCK_N + tl.arange(0, BLOCK_N)
    channel_exists = c < C
    i = c // G_IN
    e = c % G_IN

    if ACC_FLOAT64:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float64)
    else:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)

    for s_start in range(0, JKK, BLOCK_K):
        # Reduction: (j = (o, g), u, v) flattened as s.
        s = s_start + tl.arange(0, BLOCK_K)
        reduction_exists = s < JKK
        j = s // KK
        o = j // G
        g = j % G
        uv = s % KK
        u = uv // k
        v = uv % k

        p_times_stride = h[:, None] + pad_h - u[None, :]  # (BLOCK_M, BLOCK_K)
        q_times_stride = w[:, None] + pad_w - v[None, :]
        # Clamp before dividing: negative candidates are masked anyway, and this keeps // and %
        # free of the sign conventions that differ between compiled Triton and the interpreter.
        p_ok = p_times_stride >= 0
        q_ok = q_times_stride >= 0
        p_times_stride = tl.where(p_ok, p_times_stride, 0)
        q_times_stride = tl.where(q_ok, q_times_stride, 0)
        p = p_times_stride // stride_h
        q = q_times_stride // stride_w
        window_hits = (
            p_ok & q_ok
            & (p_times_stride % stride_h == 0) & (q_times_stride % stride_w == 0)
            & (p < P) & (q < Q)
        )
        dy_tile = tl.load(
            dy_ptr + ((n[:, None] * (COUT * G) + j[None, :]) * P + p) * Q + q,
            mask=row_exists[:, None] & reduction_exists[None, :] & window_hits,
            other=0.0,
        )
        within = tl.load(index_ptr + g[:, None] * GKK + e[None, :] * KK + uv[:, None])  # (BLOCK_K, BLOCK_N): the table
        w_tile = tl.load(
            w_ptr + (o[:, None] * CIN + i[None, :]) * GKK + within,
            mask=reduction_exists[:, None] & channel_exists[None, :],
            other=0.0,
        )
        if UPCAST_OPERANDS:
            dy_tile = dy_tile.to(tl.float32)
            w_tile = w_tile.to(tl.float32)
        acc = tl.dot(dy_tile, w_tile, acc, input_precision=DOT_PRECISION)

    dx_address = dx_ptr + ((n[:, None] * C + c[None, :]) * H + h[:, None]) * W + w[:, None]
    tl.store(dx_address, acc.to(dx_ptr.dtype.element_ty), mask=row_exists[:, None] & channel_exists[None, :])


_tuned_input_grad_kernel = autotuned(group_conv_input_grad_kernel, SHAPE_KEY)


def group_conv_input_grad(grad_y, weight, x_shape, stride, padding, order, lifting, wrap=direct):
    """dL/dx for dL/dy = grad_y (contiguous, (N, COUT, G, P, Q)), shaped like the input."""
    n, cin, h, w = x_shape[0], x_shape[1], x_shape[-2], x_shape[-1]
    cout, k = weight.shape[0], weight.shape[-1]
    g_in = 1 if lifting else order
    grad_x = new_output(x_shape, like=grad_y)
    index, _ = filter_tables(order, k, lifting, grad_y.device)
    launch_gemm(
        _tuned_input_grad_kernel, wrap, "group", rows=n * h * w, columns=cin * g_in, reduction=cout * order * k * k,
        groups=1, args=(grad_y, weight, grad_x, index,
                        *group_geometry(x_shape, weight.shape, grad_y.shape[-2:], stride, padding)),
        constexprs=group_constexprs(order, lifting, grad_y.dtype),
    )
    return grad_x
