"""Call a Triton kernel like a Python function: `launched_by` pairs a `@triton.jit` kernel with its launcher.

A Triton kernel cannot be called directly: it is launched over a grid of programs,
`kernel[grid](pointers..., sizes..., BLOCK=...)`. Exercise 06 writes each kernel next to a small
launcher that picks the grid and passes the sizes, and joins the two under the kernel's name:

    @launched_by(_launch_vector_add)
    @triton.jit
    def vector_add(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
        ...

    vector_add(x, y, out, block=16)     # calls _launch_vector_add(<the jit kernel>, x, y, out, block=16)

so the name means one thing, takes tensors and returns a tensor. Without a GPU Triton can only run
through its interpreter, which has to be chosen before triton is imported: importing this module
imports `kernels` first, which switches it on (TRITON_INTERPRET=1) when there is no CUDA GPU.
"""
from __future__ import annotations

import functools

import kernels  # noqa: F401  (imported first: it switches the interpreter on when there is no GPU)

from triton.runtime.errors import InterpreterError  # noqa: E402, I001  (after choosing the interpreter)


def launched_by(launch):
    """Decorator: `kernel(*args)` becomes `launch(kernel, *args)`, with the kernel's name and docstring.

    The interpreter wraps an exception raised inside a kernel (a NotImplementedError left in an
    exercise, an IndexError in a student's code) in an InterpreterError; the launcher re-raises
    the original, so its type and message reach whoever called.
    """

    def decorate(kernel):
        @functools.wraps(getattr(kernel, "fn", kernel))
        def launch_kernel(*args, **kwargs):
            try:
                return launch(kernel, *args, **kwargs)
            except InterpreterError as error:
                if error.__cause__ is None:
                    raise
                raise error.__cause__ from None

        launch_kernel.kernel = kernel
        return launch_kernel

    return decorate
