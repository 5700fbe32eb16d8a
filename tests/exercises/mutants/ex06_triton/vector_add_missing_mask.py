"""Mistake: no mask on the loads and the store, so the last, ragged block reads and writes past the end."""
import triton
import triton.language as tl

from course.exercises.ex06_triton import *  # noqa: F403
from course.exercises.ex06_triton import _launch_vector_add
from course.runtime.triton_launcher import launched_by

BROKEN = "vector_add"


@launched_by(_launch_vector_add)
@triton.jit
def vector_add(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offsets, tl.load(x_ptr + offsets) + tl.load(y_ptr + offsets))
