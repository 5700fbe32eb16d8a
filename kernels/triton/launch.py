"""What every Triton launcher here shares: block sizes, autotuning, the dot product's precision, sizes.

Each pass has its own file (forward.py, input_grad.py, weight_grad.py and the group_* ones): its index
map, its kernel, and the launcher right under it. This module holds what those launchers have in common.

Two ways to pick block sizes:
- under the interpreter (a CPU, `TRITON_INTERPRET=1`) every program runs one after another in
  numpy, so the fewer and larger the tiles the faster: blocks are the problem size rounded up to a
  power of two, capped (INTERPRETER_BLOCK_CAPS; the tests lower the caps to force many tiles);
- on a GPU, `triton.autotune` times GEMM_CONFIGS once per problem shape and dtype and keeps the fastest.

GEMM_CONFIGS are checked ahead of time, without a GPU: `python -m kernels.gpu_check --aot` compiles
every kernel in every configuration for sm_80 (A100) and sm_90 (H100) and prints registers, shared
memory and spills (tests/kernels/test_aot_compile.py runs it in CI). A configuration goes on the list
only if every kernel, in every dtype, fits both targets' shared memory (163 KiB and 227 KiB per block).

Precision: float32 products follow `torch.backends.cudnn.allow_tf32`, as cuDNN's convolutions do
(TF32 by default): so a float32 comparison with F.conv2d on a GPU is like for like. The interpreter
computes in full float32 whatever the flag says.

Every launcher takes `wrap`, applied to the kernel before launching: the identity for a direct
call, `torch.library.wrap_triton` inside a `torch.library.triton_op` (see registration.py).
"""
from __future__ import annotations

import os

import torch
import triton

INTERPRETING = os.environ.get("TRITON_INTERPRET") == "1"

GEMM_CONFIGS = [
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 32}, num_warps=8, num_stages=3),
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 64, "BLOCK_K": 32}, num_warps=4, num_stages=3),
    triton.Config({"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32}, num_warps=4, num_stages=4),
    triton.Config({"BLOCK_M": 64, "BLOCK_N": 32, "BLOCK_K": 32}, num_warps=4, num_stages=3),
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 16, "BLOCK_K": 16}, num_warps=4, num_stages=3),  # few channels per group
]

# Under the interpreter: the largest tile per GEMM dimension. The group kernels' widest dimension is
# the weight gradient's columns, CIN*G*k*k, hence their larger caps.
INTERPRETER_BLOCK_CAPS = {
    "conv2d": {"BLOCK_M": 128, "BLOCK_N": 64, "BLOCK_K": 64},
    "group": {"BLOCK_M": 128, "BLOCK_N": 256, "BLOCK_K": 128},
}


def autotuned(kernel, key: list[str]):
    """The kernel as its launcher calls it: autotuned over GEMM_CONFIGS on a GPU, itself under the interpreter."""
    return kernel if INTERPRETING else triton.autotune(configs=GEMM_CONFIGS, key=key)(kernel)


def block(size: int, cap: int) -> int:
    """`size` rounded up to a power of two, at least 16 (tl.dot's smallest tile) and at most `cap`."""
    return max(16, min(cap, triton.next_power_of_2(size)))


def launch_gemm(kernel, wrap, family, rows, columns, reduction, groups, args, constexprs):
    """Launch one implicit-GEMM kernel over a rows x columns output per group (grid axis 2)."""
    if rows == 0 or columns == 0:  # nothing to write (an empty reduction still writes: zeros, or the bias)
        return
    if INTERPRETING:
        caps = INTERPRETER_BLOCK_CAPS[family]
        blocks = {
            "BLOCK_M": block(rows, caps["BLOCK_M"]),
            "BLOCK_N": block(columns, caps["BLOCK_N"]),
            "BLOCK_K": block(reduction, caps["BLOCK_K"]),
        }
        grid = (triton.cdiv(rows, blocks["BLOCK_M"]), triton.cdiv(columns, blocks["BLOCK_N"]), groups)
        wrap(kernel)[grid](*args, **constexprs, **blocks)
    else:
        def grid(meta):
            return (triton.cdiv(rows, meta["BLOCK_M"]), triton.cdiv(columns, meta["BLOCK_N"]), groups)

        wrap(kernel)[grid](*args, **constexprs)


def dot_precision(dtype) -> str:
    """tl.dot's input_precision: "tf32" for float32 when torch.backends.cudnn.allow_tf32 is on, else "ieee"."""
    return "tf32" if dtype == torch.float32 and torch.backends.cudnn.allow_tf32 else "ieee"


def precision_constexprs(dtype) -> dict:
    """The constexprs that depend on the dtype, for every GEMM kernel here.

    ACC_FLOAT64: accumulate float64 inputs in float64 (everything else in float32).
    UPCAST_OPERANDS: the interpreter's tl.dot gets bfloat16 wrong (it multiplies the raw bits): feed it float32.
    DOT_PRECISION: see dot_precision.
    """
    return {
        "ACC_FLOAT64": dtype == torch.float64,
        "UPCAST_OPERANDS": INTERPRETING and dtype == torch.bfloat16,
        "DOT_PRECISION": dot_precision(dtype),
    }


def direct(kernel):
    """The `wrap` of a plain call."""
    return kernel


def output_size(x_shape, w_shape, stride, padding, dilation) -> tuple[int, int]:
    """(P, Q) of a convolution with symmetric padding: x (..., H, W), w (..., R, S)."""
    h, w = x_shape[-2], x_shape[-1]
    r, s = w_shape[-2], w_shape[-1]
    p = (h + 2 * padding[0] - dilation[0] * (r - 1) - 1) // stride[0] + 1
    q = (w + 2 * padding[1] - dilation[1] * (s - 1) - 1) // stride[1] + 1
    return p, q
