"""Gradient of p4/p4m lifting and group convolution with respect to the weight, in Triton.

Index map (same names as group_forward.py: x (N, CIN, [G_IN,] H, W), channel c = i*G_IN + e;
y (N, COUT, G, P, Q), channel j = o*G + g; w (COUT, CIN, [G_IN,] k, k))
---------------------------------------------------------------------------------------------------
Weight tying: each parameter w[o, i, e_w, u_w, v_w] sits in the expanded bank G times, once in the
copy of every output element g, so its gradient is the sum of G gradients (lesson 02: tied
weights add their gradients). In copy g it is the entry Wexp[(o, g), (i, e), (u, v)] with
  e*k*k + u*k + v = landing[g, e_w*k*k + u_w*k + v_w]     (group_index.py: the table; lifting: no e, no e_w)
that is e = g·e_w (the input element that g⁻¹·e maps back to e_w) and (u, v) the pixel of g·w where
w[u_w, v_w] lands. And an expanded entry's gradient is conv2d's weight gradient, so
  dw[o, i, e_w, u_w, v_w] = sum over g and (n, p, q) of dy[n, o*G + g, p, q] * x[n, i*G_IN + e, h, w],
  h = p*stride_h - pad_h + u,   w = q*stride_w - pad_w + v    (x = 0 off the image).

Rather than scatter each copy's gradient into dw (atomics: fast, but the order of the additions
and so the rounding would change from run to run), each program owns a tile of dw and runs the sum
over the copies itself. A matrix product  dW = dYᵀ @ X  whose reduction runs over (g, m):
  rows      o                                                            0 <= o < COUT
  columns   t = (i, e_w, u_w, v_w), w[o]'s own flat layout: t = ((i*G_IN + e_w)*k + u_w)*k + v_w,
                                                                         0 <= t < CIN*G_IN*k*k
  reduction g, then m = (n, p, q) flattened as m = (n*P + p)*Q + q,      0 <= m < N*P*Q
  dYᵀ[o, (g, m)] = dy_ptr[(n*COUT*G + o*G + g)*P*Q + p*Q + q]
  X[(g, m), t]   = x_ptr[((n*CIN*G_IN + i*G_IN + e)*H + h)*W + w]   with e, u, v from g as above
  dw[o, i, e_w, u_w, v_w] = dw_ptr[o*CIN*G_IN*k*k + t]
Program (pid_o, pid_t) computes one BLOCK_M x BLOCK_N tile of dW. The bias gradient needs no kernel
of its own: it is conv2d's, for dy seen as (N, COUT, G*P, Q).

Masks: `channel_exists` (o < COUT), `column_exists` (t < CIN*G_IN*k*k), `reduction_exists`
(m < N*P*Q), `inside_image` (the padding border reads as zero). The table read needs no mask:
t % (G_IN*k*k) is always inside a row of it.

The launchers, `group_conv_weight_grad` and `group_conv_bias_grad`, are under the kernel.
"""
from __future__ import annotations

import triton
import triton.language as tl

from kernels.poison import new_output
from kernels.triton.group_index import SHAPE_KEY, filter_tables, group_constexprs, group_geometry
from kernels.triton.launch import autotuned, direct, launch_gemm
from kernels.triton.weight_grad import conv2d_bias_grad


@triton.jit
def group_conv_weight_grad_kernel(
    dy_ptr, x_ptr, dw_ptr, landing_ptr,
    N, CIN, H, W, COUT, P, Q, k,
    stride_h, stride_w, pad_h, pad_w,
    G: tl.constexpr, G_IN: tl.constexpr,
    ACC_FLOAT64: tl.constexpr, UPCAST_OPERANDS: tl.constexpr, DOT_PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_o = tl.program_id(0)
    pid_t = tl.program_id(1)
    C = CIN * G_IN
    KK = k * k
    GKK = G_IN * KK  # the values of one w[o, i]
    CKK = C * KK
    PQ = P * Q

    # Rows: output channels o.
    o = pid_o * BLOCK_M + tl.arange(0, BLOCK_M)
    channel_exists = o < COUT

    # Columns: the parameter's own (i, e_w, u_w, v_w), flattened as t.
    t = pid_t * BLOCK_N + tl.arange(0, BLOCK_N)
    column_exists = t < CKK
    i = t // GKK
    parameter = t % GKK  # (e_w, u_w, v_w): which value of w[o, i]

    if ACC_FLOAT64:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float64)
    else:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)

    for g in range(G):
        # Where the parameter (i, e_w, u_w, v_w) sits in copy g of the expanded bank: (i, e, u, v).
        landing = tl.load(landing_ptr + g * GKK + parameter)  # (BLOCK_N,): e*k*k + u*k + v
        c = i * G_IN + landing // KK
        u = (landing % KK) // k
        v = landing % k
        for m_start in range(0, N * PQ, BLOCK_K):
            # Reduction: output pixels (n, p, q) flattened as m.
            m = m_start + tl.arange(0, BLOCK_K)
            reduction_exists = m < N * PQ
            n = (m // PQ).to(tl.int64)
            pq = m % PQ
            p = pq // Q
            q = pq % Q

            dy_tile = tl.load(
                dy_ptr + (n[None, :] * (COUT * G) + o[:, None] * G + g) * PQ + pq[None, :],  # (BLOCK_M, BLOCK_K)
                mask=channel_exists[:, None] & reduction_exists[None, :],
                other=0.0,
            )
            h = p[:, None] * stride_h - pad_h + u[None, :]  # (BLOCK_K, BLOCK_N)
            w = q[:, None] * stride_w - pad_w + v[None, :]
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

    dw_address = dw_ptr + o[:, None] * CKK + t[None, :]
    tl.store(dw_address, acc.to(dw_ptr.dtype.element_ty), mask=channel_exists[:, None] & column_exists[None, :])


_tuned_weight_grad_kernel = autotuned(group_conv_weight_grad_kernel, SHAPE_KEY)


def group_conv_weight_grad(grad_y, x, w_shape, stride, padding, order, lifting, wrap=direct):
    """dL/dweight for dL/dy = grad_y (contiguous), summed over the G tied copies, shaped like the weight."""
    n, cin = x.shape[:2]
    cout, k = w_shape[0], w_shape[-1]
    g_in = 1 if lifting else order
    p, q = grad_y.shape[-2:]
    grad_w = new_output(w_shape, like=grad_y)
    _, landing = filter_tables(order, k, lifting, grad_y.device)
    launch_gemm(
        _tuned_weight_grad_kernel, wrap, "group", rows=cout, columns=cin * g_in * k * k, reduction=n * p * q,
        groups=1, args=(grad_y, x, grad_w, landing, *group_geometry(x.shape, w_shape, (p, q), stride, padding)),
        constexprs=group_constexprs(order, lifting, grad_y.dtype),
    )
    return grad_w


def group_conv_bias_grad(grad_y, wrap=direct):
    """dL/dbias (COUT,): conv2d's bias gradient, for grad_y (N, COUT, G, P, Q) seen as (N, COUT, G*P, Q)."""
    n, cout, order, p, q = grad_y.shape
    return conv2d_bias_grad(grad_y.reshape(n, cout, order * p, q), wrap=wrap)
