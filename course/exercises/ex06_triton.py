"""Exercise 06 (lesson 06, convolution kernels): three Triton puzzles, from a vector add to conv2d.

You write the bodies of three `@triton.jit` kernels. A kernel runs as a grid of *programs*; each
program handles one block of BLOCK outputs at once, with vector operations on BLOCK lanes:
`tl.program_id(axis)`, `tl.arange(0, BLOCK)`, `tl.load(pointer, mask=..., other=...)`,
`tl.store(pointer, value, mask=...)`, `tl.zeros`, arithmetic, comparisons, `&` and `|`, and plain
Python `for` loops over ranges. A pointer plus an integer offset addresses one element; a pointer
plus a block of offsets addresses BLOCK elements.

Above each kernel is its launcher (`_launch_...`): it checks shapes, picks the grid, and passes
pointers, sizes and strides in the order of the kernel's arguments. `launched_by` joins the two, so
the tests call `vector_add(x, y, out, block)` and so on with tensors. Leave the launchers as they are.

How the tests catch out-of-bounds accesses: every tensor your kernel gets is a view into a larger
buffer. The memory around an input holds NaN, so a load outside the input puts NaN into your
result; the memory around `out` and `out` itself start as a sentinel value, so a store outside
`out` changes the sentinel there, and an output element you never store keeps it. Every
block has a ragged end somewhere: guard each load and store with a mask.

Without a GPU the kernels run in the Triton interpreter (TRITON_INTERPRET=1; importing
`course.runtime.triton_launcher` sets it when there is no GPU): every program runs in numpy, one after
the other, so keep experiments small. Check your work with `python -m course grade ex06`.
"""
from course.runtime.triton_launcher import launched_by  # imported first: without a GPU it switches on the interpreter

import triton  # noqa: I001  (after the line above, on purpose)
import triton.language as tl


def _launch_vector_add(kernel, x, y, out, block=16):
    if not (x.dim() == y.dim() == out.dim() == 1 and x.shape == y.shape == out.shape):
        raise ValueError(f"x, y and out must be 1-D of one length, got {tuple(x.shape)}, {tuple(y.shape)}, "
                         f"{tuple(out.shape)}")
    if not (x.stride(0) == y.stride(0) == out.stride(0) == 1):
        raise ValueError("x, y and out must have unit stride")
    n = out.shape[0]
    grid = (triton.cdiv(n, block),)  # enough programs to cover n, the last one maybe ragged
    kernel[grid](x, y, out, n, BLOCK=block)
    return out


@launched_by(_launch_vector_add)
@triton.jit
def vector_add(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    """out = x + y, elementwise, for float32 vectors of length n.

    Called as `vector_add(x, y, out, block)`: x, y, out are 1-D float32 tensors of length n >= 1
    with unit stride; block (BLOCK, a power of two >= 16) need not divide n. The launcher runs
    the grid (cdiv(n, BLOCK),): program i computes out[j] = x[j] + y[j] for the BLOCK indices
    j = i*BLOCK, ..., i*BLOCK + BLOCK - 1 that are < n, and touches no memory at j >= n.
    Returns out (filled in place).
    """
    # BEGIN SOLUTION
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    in_bounds = offsets < n  # the last program's block runs past the end when BLOCK does not divide n
    x = tl.load(x_ptr + offsets, mask=in_bounds)
    y = tl.load(y_ptr + offsets, mask=in_bounds)
    tl.store(out_ptr + offsets, x + y, mask=in_bounds)
    # END SOLUTION


def _conv_output_length(length, taps, stride, padding):
    return (length + 2 * padding - taps) // stride + 1


def _launch_conv1d(kernel, x, w, out, stride=1, padding=0, block=16):
    if x.dim() != 1 or w.dim() != 1 or out.dim() != 1:
        raise ValueError("x, w and out must be 1-D")
    L, R = x.shape[0], w.shape[0]
    L_out = _conv_output_length(L, R, stride, padding)
    if out.shape[0] != L_out:
        raise ValueError(f"out must have length (L + 2*padding - R) // stride + 1 = {L_out}, got {out.shape[0]}")
    if not (x.stride(0) == w.stride(0) == out.stride(0) == 1):
        raise ValueError("x, w and out must have unit stride")
    grid = (triton.cdiv(L_out, block),)
    kernel[grid](x, w, out, L, L_out, stride, padding, R=R, BLOCK=block)
    return out


@launched_by(_launch_conv1d)
@triton.jit
def conv1d(x_ptr, w_ptr, out_ptr, L, L_out, stride, padding, R: tl.constexpr, BLOCK: tl.constexpr):
    """1-D cross-correlation (what deep learning calls convolution) with stride and zero padding.

    Called as `conv1d(x, w, out, stride, padding, block)`: x (L,) is the signal, w (R,) the
    kernel with 1 <= R <= L + 2*padding, out (L_out,) with L_out = (L + 2*padding - R) // stride + 1;
    all float32 with unit stride; stride >= 1, padding >= 0; block (BLOCK, a power of two
    >= 16) need not divide L_out. The launcher runs the grid (cdiv(L_out, BLOCK),): program i
    computes the outputs j = i*BLOCK, ..., i*BLOCK + BLOCK - 1 that are < L_out,

        out[j] = sum_{r=0}^{R-1} w[r] * x[j*stride - padding + r]

    where an index of x outside 0 .. L-1 is padding and counts as zero: never load it (mask it).
    Accumulate in float32. Touch no memory outside x, w and out. Returns out (filled in place).
    """
    # BEGIN SOLUTION
    j = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    output_exists = j < L_out
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    for r in range(R):
        position = j * stride - padding + r
        inside_signal = output_exists & (position >= 0) & (position < L)  # outside: padding, reads as 0
        x = tl.load(x_ptr + position, mask=inside_signal, other=0.0)
        acc += x * tl.load(w_ptr + r)
    tl.store(out_ptr + j, acc, mask=output_exists)
    # END SOLUTION


def _launch_conv2d(kernel, x, w, out, stride=1, padding=0, block=16):
    if x.dim() != 3 or w.dim() != 4 or out.dim() != 3:
        raise ValueError("x must be (C, H, W), w (K, C, R, S) and out (K, P, Q)")
    C, H, W = x.shape
    K, C_w, R, S = w.shape
    P, Q = _conv_output_length(H, R, stride, padding), _conv_output_length(W, S, stride, padding)
    if C_w != C or tuple(out.shape) != (K, P, Q):
        raise ValueError(f"with x {tuple(x.shape)} and w {tuple(w.shape)}, out must be {(K, P, Q)} "
                         f"(and w's channels must be {C}); got out {tuple(out.shape)}")
    grid = (triton.cdiv(P * Q, block), K)  # axis 0: blocks of output pixels, axis 1: output channels
    kernel[grid](x, w.contiguous(), out, C, H, W, P, Q, stride, padding,
                 x.stride(0), x.stride(1), x.stride(2), out.stride(0), out.stride(1), out.stride(2),
                 R=R, S=S, BLOCK=block)
    return out


@launched_by(_launch_conv2d)
@triton.jit
def conv2d(x_ptr, w_ptr, out_ptr, C, H, W, P, Q, stride, padding,
           x_stride_c, x_stride_h, x_stride_w, out_stride_k, out_stride_p, out_stride_q,
           R: tl.constexpr, S: tl.constexpr, BLOCK: tl.constexpr):
    """2-D cross-correlation of one image, as torch.nn.functional.conv2d computes it (no bias).

    Called as `conv2d(x, w, out, stride, padding, block)`: x (C, H, W), w (K, C, R, S) and
    out (K, P, Q), float32, with P = (H + 2*padding - R) // stride + 1 and
    Q = (W + 2*padding - S) // stride + 1 (both >= 1); stride >= 1 and padding >= 0 are ints used
    on both axes; block (BLOCK, a power of two >= 16) need not divide P*Q.

    Memory: x and out are views, maybe not contiguous: element x[c, h, w] lives at
    x_ptr + c*x_stride_c + h*x_stride_h + w*x_stride_w, and out[k, p, q] at
    out_ptr + k*out_stride_k + p*out_stride_p + q*out_stride_q. The weight is contiguous:
    w[k, c, r, s] lives at w_ptr + ((k*C + c)*R + r)*S + s.

    The launcher runs the grid (cdiv(P*Q, BLOCK), K). Program (i, k) computes output channel k at
    the output pixels numbered m = i*BLOCK, ..., i*BLOCK + BLOCK - 1 that are < P*Q, where pixel m
    is (p, q) = (m // Q, m % Q):

        out[k, p, q] = sum over c < C, r < R, s < S of
                       w[k, c, r, s] * x[c, p*stride - padding + r, q*stride - padding + s]

    where a position of x outside 0 <= h < H, 0 <= w < W is zero padding: never load it (mask
    it). Accumulate in float32. Touch no memory outside x, w and out. Returns out (filled in place).
    """
    # BEGIN SOLUTION
    m = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    k = tl.program_id(1)
    pixel_exists = m < P * Q
    p = m // Q
    q = m % Q
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    for c in range(C):
        for r in range(R):
            h = p * stride - padding + r
            for s in range(S):
                w = q * stride - padding + s
                inside_image = pixel_exists & (h >= 0) & (h < H) & (w >= 0) & (w < W)
                x = tl.load(x_ptr + c * x_stride_c + h * x_stride_h + w * x_stride_w, mask=inside_image, other=0.0)
                acc += x * tl.load(w_ptr + ((k * C + c) * R + r) * S + s)
    tl.store(out_ptr + k * out_stride_k + p * out_stride_p + q * out_stride_q, acc, mask=pixel_exists)
    # END SOLUTION
