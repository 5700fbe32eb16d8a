"""Forward p4/p4m lifting and group convolution in Triton: an implicit GEMM with an implicit filter bank.

Index map (check it with a pencil; every name below is a name in the kernel)
---------------------------------------------------------------------------
Sizes: input x (N, CIN, H, W) when lifting, (N, CIN, G, H, W) for a group conv; weight w
(COUT, CIN, k, k) or (COUT, CIN, G, k, k); output y (N, COUT, G, P, Q). G_IN is the input's group
axis: 1 when lifting, G otherwise. Fold the input's group axis into its channels, c = i*G_IN + e, and
the output's, j = o*G + g: then the layer is one conv2d with CIN*G_IN input and COUT*G output channels
whose filter bank is the expanded one of kernels/group_reference.py, so one matrix product  Y = X @ Wexp:
  rows      m = (n, p, q)   flattened as m = (n*P + p)*Q + q,               0 <= m < N*P*Q
  columns   j = (o, g)      flattened as j = o*G + g,                      0 <= j < COUT*G
  reduction t = (c, u, v)   flattened as t = (c*k + u)*k + v, c = i*G_IN + e, 0 <= t < CIN*G_IN*k*k
X is never built (that would be im2col), and neither is Wexp (that would be the expanded bank):
  h = p*stride_h - pad_h + u,    w = q*stride_w - pad_w + v
  X[m, t]    = x[n, c, h, w] = x_ptr[((n*CIN*G_IN + c)*H + h)*W + w]   (0 off the image: the padding)
  Wexp[t, j] = w[o, i].flatten()[index[g, t % (G_IN*k*k)]]              (group_index.py: the table)
             = w_ptr[(o*CIN + i)*G_IN*k*k + index_ptr[g*G_IN*k*k + t % (G_IN*k*k)]]
  y[n, o, g, p, q] = y_ptr[(n*COUT*G + j)*P*Q + p*Q + q]
The bias is shared over the group axis: column j adds bias[o].

Program (pid_m, pid_j) computes rows pid_m*BLOCK_M ... +BLOCK_M and columns pid_j*BLOCK_N ... +BLOCK_N
of Y, looping over the reduction BLOCK_K at a time, accumulating in float32 (float64 for float64).

Masks: `row_exists` (m < N*P*Q), `column_exists` (j < COUT*G), `reduction_exists` (t < CIN*G_IN*k*k)
guard the ragged last tiles; `inside_image` guards the padding border and makes it read as zero.
The table reads need no mask: g < G and t % (G_IN*k*k) are always inside the table.

The launcher, `group_conv_forward`, is under the kernel.
"""
from __future__ import annotations

import triton
import triton.language as tl

from kernels.poison import new_output
from kernels.triton.group_index import SHAPE_KEY, filter_tables, group_constexprs, group_geometry, group_output_size
from kernels.triton.launch import autotuned, direct, launch_gemm


@triton.jit
def group_conv_forward_kernel(
    x_ptr, w_ptr, bias_ptr, y_ptr, index_ptr,
    N, CIN, H, W, COUT, P, Q, k,
    stride_h, stride_w, pad_h, pad_w,
    G: tl.constexpr, G_IN: tl.constexpr,
    HAS_BIAS: tl.constexpr, ACC_FLOAT64: tl.constexpr, UPCAST_OPERANDS: tl.constexpr, DOT_PRECISION: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_m = tl.program_id(0)
    pid_j = tl.program_id(1)
    C = CIN * G_IN
    KK = k * k
    GKK = G_IN * KK  # the values of one w[o, i]
    CKK = C * KK
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

    # Columns: (output channel o, group element g).
    j = pid_j * BLOCK_N + tl.arange(0, BLOCK_N)
    column_exists = j < COUT * G
    o = j // G
    g = j % G

    if ACC_FLOAT64:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float64)
    else:
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)

    for t_start in range(0, CKK, BLOCK_K):
        # Reduction: (c = (i, e), u, v) flattened as t.
        t = t_start + tl.arange(0, BLOCK_K)
        reduction_exists = t < CKK
        c = t // KK
        i = c // G_IN
        u = (t % KK) // k
        v = t % k

        h = h_top[:, None] + u[None, :]  # (BLOCK_M, BLOCK_K)
        w = w_left[:, None] + v[None, :]
        inside_image = (h >= 0) & (h < H) & (w >= 0) & (w < W)
        x_tile = tl.load(
            x_ptr + ((n[:, None] * C + c[None, :]) * H + h) * W + w,
            mask=row_exists[:, None] & reduction_exists[None, :] & inside_image,
            other=0.0,
        )
        within = tl.load(index_ptr + g[None, :] * GKK + (t % GKK)[:, None])  # (BLOCK_K, BLOCK_N): the table
        w_tile = tl.load(
            w_ptr + (o[None, :] * CIN + i[:, None]) * GKK + within,
            mask=reduction_exists[:, None] & column_exists[None, :],
            other=0.0,
        )
        if UPCAST_OPERANDS:
            x_tile = x_tile.to(tl.float32)
            w_tile = w_tile.to(tl.float32)
        acc = tl.dot(x_tile, w_tile, acc, input_precision=DOT_PRECISION)

    if HAS_BIAS:
        bias = tl.load(bias_ptr + o, mask=column_exists, other=0.0)
        acc += bias[None, :].to(acc.dtype)

    y_address = y_ptr + (n[:, None] * (COUT * G) + j[None, :]) * PQ + pq[:, None]
    tl.store(y_address, acc.to(y_ptr.dtype.element_ty), mask=row_exists[:, None] & column_exists[None, :])


_tuned_forward_kernel = autotuned(group_conv_forward_kernel, SHAPE_KEY)


def group_conv_forward(x, weight, bias, stride, padding, order, lifting, wrap=direct):
    """y (N, COUT, G, P, Q) of the lifting or group convolution; x, weight contiguous, bias contiguous or None.

    `order`: 4 (p4) or 8 (p4m); `lifting`: x (N, CIN, H, W) and weight (COUT, CIN, k, k), else
    x (N, CIN, G, H, W) and weight (COUT, CIN, G, k, k).
    """
    n, cin = x.shape[:2]
    cout, k = weight.shape[0], weight.shape[-1]
    g_in = 1 if lifting else order
    p, q = group_output_size(x.shape, k, stride, padding)
    y = new_output((n, cout, order, p, q), like=x)
    index, _ = filter_tables(order, k, lifting, x.device)
    launch_gemm(
        _tuned_forward_kernel, wrap, "group", rows=n * p * q, columns=cout * order, reduction=cin * g_in * k * k,
        groups=1, args=(x, weight, bias if bias is not None else x, y, index,
                        *group_geometry(x.shape, weight.shape, (p, q), stride, padding)),
        constexprs={**group_constexprs(order, lifting, x.dtype), "HAS_BIAS": bias is not None},
    )
    return y
