"""Gradient of conv2d with respect to its input, in Triton, as an implicit GEMM.

Index map (same names as forward.py: x (N, C, H, W), w (K, C_g, R, S), y (N, K, P, Q), G groups)
---------------------------------------------------------------------------------------------
The forward pass sends x[n, c, h, w] into every y[n, k, p, q] whose window covers it, that is every
(k, r, s) with  h = p*stride_h - pad_h + r*dil_h  and  w = q*stride_w - pad_w + s*dil_w. Running
that backwards, for one input pixel and one (r, s):
  p = (h + pad_h - r*dil_h) / stride_h     must be a whole number with 0 <= p < P,
  q = (w + pad_w - s*dil_w) / stride_w     must be a whole number with 0 <= q < Q,
and then  dx[n, c, h, w] += dy[n, k, p, q] * w[k, c_local, r, s].

Per group g this is the matrix product  dX_g = dY_g @ Wt_g  where
  rows    m = (n, h, w)   flattened as m = (n*H + h)*W + w,             0 <= m < N*H*W
  columns c_local, the input channel within the group, c = g*C_g + c_local
  reduction u = (j, r, s) flattened as u = (j*R + r)*S + s,  k = g*K_g + j,  0 <= u < K_g*R*S
  dY_g[m, u] = dy_ptr[((n*K + k)*P + p)*Q + q]    when p, q above exist (else 0)
  Wt_g[u, c_local] = w_ptr[((k*C_g + c_local)*R + r)*S + s]
  dx[n, c, h, w] = dx_ptr[((n*C + c)*H + h)*W + w]

Program (pid_m, pid_c, g) computes rows pid_m*BLOCK_M ... +BLOCK_M and input channels
pid_c*BLOCK_N ... +BLOCK_N of dX_g, looping over u BLOCK_K at a time. With stride > 1 most (p, q)
candidates are not whole numbers and are masked off: simple and correct, not the fastest.

Masks: `row_exists` (m < N*H*W), `channel_exists` (c_local < C_g), `reduction_exists` (u < K_g*R*S),
and `window_hits` (p, q whole numbers inside the output) says which dy elements this pixel feeds.

The launcher, `conv2d_input_grad`, is under the kernel.
"""
from __future__ import annotations

import triton
import triton.language as tl

from kernels.poison import new_output
from kernels.triton.forward import SHAPE_KEY, conv2d_geometry
from kernels.triton.launch import autotuned, direct, launch_gemm, precision_constexprs


@triton.jit
def conv2d_input_grad_kernel(
    dy_ptr, w_ptr, dx_ptr,
    N, C, H, W, K, P, Q, R, S,
    stride_h, stride_w, pad_h, pad_w, dil_h, dil_w,
    GROUPS,
    ACC_FLOAT64: tl.constexpr, UPCAST_OPERANDS: tl.constexpr, DOT_PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_m = tl.program_id(0)
    pid_c = tl.program_id(1)
    g = tl.program_id(2)
    C_g = C // GROUPS
    K_g = K // GROUPS
    RS = R * S
    KRS = K_g * RS
    HW = H * W

    # Rows: input pixels (n, h, w).
    m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_exists = m < N * HW
    n = (m // HW).to(tl.int64)
    hw = m % HW
    h = hw // W
    w = hw % W

    # Columns: input channels of group g.
    c_local = pid_c * BLOCK_N + tl.arange(0, BLOCK_N)
    channel_exists = c_local < C_g
    c = g * C_g + c_local

    if ACC_FLOAT64:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float64)
    else:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)

    for u_start in range(0, KRS, BLOCK_K):
        # Reduction: (j, r, s) flattened as u.
        u = u_start + tl.arange(0, BLOCK_K)
        reduction_exists = u < KRS
        k = g * K_g + u // RS
        r = (u % RS) // S
        s = u % S

        p_times_stride = h[:, None] + pad_h - r[None, :] * dil_h  # (BLOCK_M, BLOCK_K)
        q_times_stride = w[:, None] + pad_w - s[None, :] * dil_w
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
            dy_ptr + ((n[:, None] * K + k[None, :]) * P + p) * Q + q,
            mask=row_exists[:, None] & reduction_exists[None, :] & window_hits,
            other=0.0,
        )
        w_tile = tl.load(
            w_ptr + ((k[:, None] * C_g + c_local[None, :]) * R + r[:, None]) * S + s[:, None],  # (BLOCK_K, BLOCK_N)
            mask=reduction_exists[:, None] & channel_exists[None, :],
            other=0.0,
        )
        if UPCAST_OPERANDS:
            dy_tile = dy_tile.to(tl.float32)
            w_tile = w_tile.to(tl.float32)
        acc = tl.dot(dy_tile, w_tile, acc, input_precision=DOT_PRECISION)

    dx_address = dx_ptr + ((n[:, None] * C + c[None, :]) * H + h[:, None]) * W + w[:, None]
    tl.store(dx_address, acc.to(dx_ptr.dtype.element_ty), mask=row_exists[:, None] & channel_exists[None, :])


_tuned_input_grad_kernel = autotuned(conv2d_input_grad_kernel, SHAPE_KEY)


def conv2d_input_grad(grad_y, weight, x_shape, stride, padding, dilation, groups, wrap=direct):
    """dL/dx for dL/dy = grad_y (contiguous), as an (N, C, H, W) tensor."""
    n, c, h, w = x_shape
    k, c_g, r, s = weight.shape
    grad_x = new_output(x_shape, like=grad_y)
    geometry = conv2d_geometry(x_shape, weight.shape, grad_y.shape, stride, padding, dilation, groups)
    launch_gemm(
        _tuned_input_grad_kernel, wrap, "conv2d", rows=n * h * w, columns=c_g, reduction=(k // groups) * r * s,
        groups=groups, args=(grad_y, weight, grad_x, *geometry), constexprs=precision_constexprs(grad_y.dtype),
    )
    return grad_x
