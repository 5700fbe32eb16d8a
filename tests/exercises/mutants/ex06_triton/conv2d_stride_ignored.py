"""Mistake: stride ignored: output pixel (p, q) reads the window at (p - padding, q - padding)."""
import triton
import triton.language as tl

from course.exercises.ex06_triton import *  # noqa: F403
from course.exercises.ex06_triton import _launch_conv2d
from course.runtime.triton_launcher import launched_by

BROKEN = "conv2d"


@launched_by(_launch_conv2d)
@triton.jit
def conv2d(x_ptr, w_ptr, out_ptr, C, H, W, P, Q, stride, padding,
           x_stride_c, x_stride_h, x_stride_w, out_stride_k, out_stride_p, out_stride_q,
           R: tl.constexpr, S: tl.constexpr, BLOCK: tl.constexpr):
    m = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    k = tl.program_id(1)
    pixel_exists = m < P * Q
    p = m // Q
    q = m % Q
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    for c in range(C):
        for r in range(R):
            for s in range(S):
                h = p - padding + r
                w = q - padding + s
                inside = pixel_exists & (h >= 0) & (h < H) & (w >= 0) & (w < W)
                x = tl.load(x_ptr + c * x_stride_c + h * x_stride_h + w * x_stride_w, mask=inside, other=0.0)
                acc += x * tl.load(w_ptr + ((k * C + c) * R + r) * S + s)
    tl.store(out_ptr + k * out_stride_k + p * out_stride_p + q * out_stride_q, acc, mask=pixel_exists)
