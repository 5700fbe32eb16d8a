"""Mistake: the block size is assumed to divide the output length: the store has no `j < L_out` mask."""
import triton
import triton.language as tl

from course.exercises.ex06_triton import *  # noqa: F403
from course.exercises.ex06_triton import _launch_conv1d
from course.runtime.triton_launcher import launched_by

BROKEN = "conv1d"


@launched_by(_launch_conv1d)
@triton.jit
def conv1d(x_ptr, w_ptr, out_ptr, L, L_out, stride, padding, R: tl.constexpr, BLOCK: tl.constexpr):
    j = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    acc = tl.zeros((BLOCK,), dtype=tl.float32)
    for r in range(R):
        position = j * stride - padding + r
        inside_signal = (position >= 0) & (position < L)
        acc += tl.load(x_ptr + position, mask=inside_signal, other=0.0) * tl.load(w_ptr + r)
    tl.store(out_ptr + j, acc)
