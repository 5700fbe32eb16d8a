"""A tiny Triton program whose answer is known: does the interpreter compute correctly here?

The Triton interpreter (TRITON_INTERPRET=1) runs kernels on the CPU through numpy, and
with some numpy versions it has returned wrong numbers without any error. `course
doctor` runs this file in a fresh process with the interpreter on and compares each
result with torch. Run directly: `TRITON_INTERPRET=1 python -m course.runtime.triton_canary`.
"""
import json

import torch
import triton
import triton.language as tl


@triton.jit
def masked_reverse_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    # Program p writes out[j] = x[n - 1 - j] for j in [p*BLOCK, (p+1)*BLOCK); the mask guards the
    # ragged last block, on the loads (reading before x) as on the stores (writing past out).
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    in_bounds = offsets < n
    tl.store(out_ptr + offsets, tl.load(x_ptr + (n - 1 - offsets), mask=in_bounds, other=0.0), mask=in_bounds)


@triton.jit
def matmul_tile_kernel(a_ptr, b_ptr, c_ptr, M: tl.constexpr, N: tl.constexpr, K: tl.constexpr):
    # One program multiplies a whole (M, K) by (K, N) tile: the core step of implicit GEMM.
    m = tl.arange(0, M)[:, None]
    n = tl.arange(0, N)[None, :]
    k = tl.arange(0, K)
    a = tl.load(a_ptr + m * K + k[None, :])
    b = tl.load(b_ptr + k[:, None] * N + n)
    tl.store(c_ptr + m * N + n, tl.dot(a, b))


def run_canary() -> dict:
    """Max absolute error of each canary kernel against torch (0 or ~1e-6 when healthy)."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1000, generator=generator)
    reversed_x = torch.full_like(x, float("nan"))  # poisoned: an unwritten element shows up as nan
    masked_reverse_kernel[(triton.cdiv(1000, 128),)](x, reversed_x, 1000, BLOCK=128)
    a, b = torch.randn(32, 16, generator=generator), torch.randn(16, 32, generator=generator)
    product = torch.full((32, 32), float("nan"))
    matmul_tile_kernel[(1,)](a, b, product, M=32, N=32, K=16)
    return {
        "masked_reverse": float((reversed_x - x.flip(0)).abs().max()),
        "dot": float((product - a @ b).abs().max()),
    }


if __name__ == "__main__":
    print(json.dumps(run_canary()))
