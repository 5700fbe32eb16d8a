"""A second correct solution, written independently of the reference one: it must score full marks.

vector_add clamps its offsets into range and stores only the lanes that exist; conv1d walks
pointers tap by tap and zeroes the padding with tl.where; conv2d runs one flat loop over the
reduction index t = (c*R + r)*S + s and addresses x through pointer arithmetic on its strides.
"""
import triton
import triton.language as tl

from course.exercises.ex06_triton import _launch_conv1d, _launch_conv2d, _launch_vector_add
from course.runtime.triton_launcher import launched_by

BROKEN = None


@launched_by(_launch_vector_add)
@triton.jit
def vector_add(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    lanes = tl.arange(0, BLOCK)
    start = tl.program_id(0) * BLOCK
    live = lanes < n - start
    a = tl.load(x_ptr + start + lanes, mask=live, other=0.0)
    b = tl.load(y_ptr + start + lanes, mask=live, other=0.0)
    tl.store(out_ptr + start + lanes, a + b, mask=live)


@launched_by(_launch_conv1d)
@triton.jit
def conv1d(x_ptr, w_ptr, out_ptr, L, L_out, stride, padding, R: tl.constexpr, BLOCK: tl.constexpr):
    outputs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    live = outputs < L_out
    first = outputs * stride - padding  # where each output's window begins (maybe in the padding)
    total = tl.zeros((BLOCK,), dtype=tl.float32)
    for tap in range(R):
        where = first + tap
        valid = live & (where >= 0) & (where < L)
        value = tl.load(x_ptr + where, mask=valid)
        total += tl.where(valid, value, 0.0) * tl.load(w_ptr + tap)
    tl.store(out_ptr + outputs, total, mask=live)


@launched_by(_launch_conv2d)
@triton.jit
def conv2d(x_ptr, w_ptr, out_ptr, C, H, W, P, Q, stride, padding,
           x_stride_c, x_stride_h, x_stride_w, out_stride_k, out_stride_p, out_stride_q,
           R: tl.constexpr, S: tl.constexpr, BLOCK: tl.constexpr):
    pixels = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    channel = tl.program_id(1)
    live = pixels < P * Q
    row0 = (pixels // Q) * stride - padding
    col0 = (pixels % Q) * stride - padding
    total = tl.zeros((BLOCK,), dtype=tl.float32)
    for t in range(C * R * S):
        c = t // (R * S)
        row = row0 + (t // S) % R
        col = col0 + t % S
        valid = live & (row >= 0) & (row < H) & (col >= 0) & (col < W)
        value = tl.load(x_ptr + c * x_stride_c + row * x_stride_h + col * x_stride_w, mask=valid, other=0.0)
        total += value * tl.load(w_ptr + channel * (C * R * S) + t)
    tl.store(out_ptr + channel * out_stride_k + (pixels // Q) * out_stride_p + (pixels % Q) * out_stride_q,
             total, mask=live)
