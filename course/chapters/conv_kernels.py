"""Lesson 06: convolution as implicit GEMM, how a kernel is checked, and this machine's benchmark numbers.

Convolution as implicit GEMM: which input element each entry of the matrix product reads.

A conv2d layer (one group) is the matrix product  Y = X @ Wmat  with
    rows       m = (n, p, q),  m = (n*P + p)*Q + q        one row per output pixel      (M = N*P*Q)
    columns    k                                          one column per output channel (K)
    reduction  t = (c, r, s),  t = (c*R + r)*S + s        one term per filter weight    (T = C*R*S)
    X[m, t]    = x[n, c, p*stride_h - pad_h + r*dil_h, q*stride_w - pad_w + s*dil_w]   (0 in the padding)
    Wmat[t, k] = weight[k, c, r, s]
im2col writes all of X to memory first; implicit GEMM computes the address of X[m, t] only when
a tile of X is needed, so X never exists as a whole. This module spells the map out in torch so
it can be checked against F.conv2d, drawn, and measured.

How a convolution kernel is checked: a trusted reference, a stated tolerance, gradcheck, poisoned outputs.

- Reference: torch.nn.functional.conv2d evaluated in float64, so the reference's own rounding
  does not count against the kernel.
- Tolerance: the error relative to the largest reference value; float32 accumulation keeps it
  near 1e-7, so 1e-5 (the conformance suite's float32 tolerance) leaves room for long sums only.
- gradcheck: the kernel's backward against finite differences of its own forward, in float64.
- Poison: an output buffer filled with NaN before the kernel runs, so an element no program
  wrote cannot pass for a right answer (fresh memory is often 0, and 0 is often right).

This machine's benchmark numbers for the lesson: which backends can be timed now, and their rows.

The timing itself is `kernels.bench` (best and median of alternating rounds, GFLOP/s, ratio to
F.conv2d in the same run). What the lesson adds is a caution: the C++ extension
compiles on first use (about a minute), so a quick run times it only when it is already built.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

import kernels
from course.runtime.cpp_extension import cpp_extension_built
from course.runtime.threads import cpu_threads
from kernels import bench


# ---- implicit GEMM -----------------------------------------------------------------------------

def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class ConvGeometry:
    """Sizes of a conv2d layer: input (N, C, H, W), weight (K, C, R, S), stride/padding/dilation pairs."""

    N: int
    C: int
    H: int
    W: int
    K: int
    R: int
    S: int
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)

    @classmethod
    def of(cls, x_shape, w_shape, stride=1, padding=0, dilation=1) -> "ConvGeometry":
        (N, C, H, W), (K, _, R, S) = x_shape, w_shape
        return cls(N, C, H, W, K, R, S, _pair(stride), _pair(padding), _pair(dilation))

    @property
    def P(self) -> int:
        return (self.H + 2 * self.padding[0] - self.dilation[0] * (self.R - 1) - 1) // self.stride[0] + 1

    @property
    def Q(self) -> int:
        return (self.W + 2 * self.padding[1] - self.dilation[1] * (self.S - 1) - 1) // self.stride[1] + 1

    @property
    def gemm_shape(self) -> tuple[int, int, int]:
        """(M, K, T): rows (output pixels), columns (output channels), reduction length."""
        return self.N * self.P * self.Q, self.K, self.C * self.R * self.S


def input_address(g: ConvGeometry, m, t):
    """(n, c, h, w, inside) for GEMM row m and reduction index t (ints or integer tensors).

    `inside` is False where (h, w) falls in the zero padding: there X[m, t] is 0 and nothing is read.
    """
    n, pq = m // (g.P * g.Q), m % (g.P * g.Q)
    p, q = pq // g.Q, pq % g.Q
    c, rs = t // (g.R * g.S), t % (g.R * g.S)
    r, s = rs // g.S, rs % g.S
    h = p * g.stride[0] - g.padding[0] + r * g.dilation[0]
    w = q * g.stride[1] - g.padding[1] + s * g.dilation[1]
    inside = (h >= 0) & (h < g.H) & (w >= 0) & (w < g.W)
    return n, c, h, w, inside


def gemm_tile(x: torch.Tensor, g: ConvGeometry, rows: torch.Tensor, reductions: torch.Tensor) -> torch.Tensor:
    """X[rows][:, reductions], gathered from x (N, C, H, W) through the index map; zeros in the padding."""
    n, c, h, w, inside = input_address(g, rows[:, None], reductions[None, :])
    values = x[n, c, h.clamp(0, g.H - 1), w.clamp(0, g.W - 1)]  # clamped only to stay a valid index
    return torch.where(inside, values, torch.zeros((), dtype=x.dtype))


def im2col_matrix(x: torch.Tensor, g: ConvGeometry) -> torch.Tensor:
    """The whole (M, T) matrix X, materialised: what im2col stores."""
    M, _, T = g.gemm_shape
    return gemm_tile(x, g, torch.arange(M), torch.arange(T))


def implicit_gemm_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, block_m: int = 32) -> torch.Tensor:
    """F.conv2d (groups=1) computed one block of block_m output pixels at a time, as a GEMM kernel does.

    Each block gathers only its (block_m, T) tile of X through the index map and multiplies it by
    the (T, K) weight matrix; the full X is never built.
    """
    g = ConvGeometry.of(x.shape, weight.shape, stride, padding, dilation)
    M, K, T = g.gemm_shape
    weight_matrix = weight.reshape(K, T).T  # Wmat[t, k] = weight[k, c, r, s] with t = (c*R + r)*S + s
    rows_out = x.new_empty(M, K)
    reductions = torch.arange(T)
    for start in range(0, M, block_m):
        rows = torch.arange(start, min(start + block_m, M))
        rows_out[rows] = gemm_tile(x, g, rows, reductions) @ weight_matrix
    y = rows_out.reshape(g.N, g.P, g.Q, K).permute(0, 3, 1, 2)
    return y if bias is None else y + bias.reshape(1, K, 1, 1)


def memory_footprint(g: ConvGeometry, bytes_per_element: int = 4, block_m: int = 128, block_n: int = 64,
                     block_k: int = 32) -> dict[str, int]:
    """Bytes of the layer's tensors, of the im2col matrix, and of one GEMM program's working tiles."""
    M, K, T = g.gemm_shape
    elements = {
        "input": g.N * g.C * g.H * g.W,
        "weight": K * T,
        "output": M * K,
        "im2col matrix": M * T,
        "one program's tiles": block_m * block_k + block_k * block_n + block_m * block_n,
    }
    return {name: count * bytes_per_element for name, count in elements.items()}


def im2col_blow_up(g: ConvGeometry) -> float:
    """How many times larger the im2col matrix is than the input it copies: (P*Q*C*R*S) / (C*H*W)."""
    M, _, T = g.gemm_shape
    return M * T / (g.N * g.C * g.H * g.W)


def program_grid(g: ConvGeometry, block_m: int = 128, block_n: int = 64) -> tuple[int, int]:
    """(row tiles, column tiles): one GEMM program per output tile of block_m pixels x block_n channels."""
    M, K, _ = g.gemm_shape
    return _cdiv(M, block_m), _cdiv(K, block_n)


# ---- verification ------------------------------------------------------------------------------

FLOAT32_TOLERANCE = 1e-5  # relative to max |reference|; the conformance suite's float32 tolerance
FLOAT64_TOLERANCE = 1e-10


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """max |actual - expected| / max |expected|, computed in float64."""
    actual, expected = actual.detach().double().cpu(), expected.detach().double().cpu()
    return ((actual - expected).abs().max() / expected.abs().max().clamp_min(1e-300)).item()


def forward_error(backend: str, x, w, b, **conv) -> float:
    """Relative error of `backend`'s forward (in x's dtype) against F.conv2d in float64."""
    expected = F.conv2d(x.double(), w.double(), None if b is None else b.double(), **conv)
    return relative_error(kernels.conv2d(x, w, b, **conv, backend=backend), expected)


def gradient_errors(backend: str, x, w, b, **conv) -> dict[str, float]:
    """Relative errors of the input, weight and bias gradients against torch's autograd (same dtype)."""
    grads = {}
    for name, conv2d in (("backend", lambda *t: kernels.conv2d(*t, **conv, backend=backend)),
                         ("torch", lambda *t: F.conv2d(*t, **conv))):
        leaves = [t.detach().clone().requires_grad_() for t in (x, w, b)]
        y = conv2d(*leaves)
        y.backward(torch.linspace(-1, 1, y.numel(), dtype=y.dtype, device=y.device).reshape(y.shape))
        grads[name] = [leaf.grad for leaf in leaves]
    return {name: relative_error(mine, theirs)
            for name, mine, theirs in zip(("input", "weight", "bias"), grads["backend"], grads["torch"])}


def passes_gradcheck(backend: str, x, w, b, fast_mode: bool = True, **conv) -> bool:
    """torch.autograd.gradcheck of `backend` in float64 (x, w, b must be float64)."""
    leaves = [t.detach().clone().requires_grad_() for t in (x, w, b)]
    return torch.autograd.gradcheck(lambda *t: kernels.conv2d(*t, **conv, backend=backend), leaves,
                                    fast_mode=fast_mode, raise_exception=False)


def triton_forward_missing_last_tile(x: torch.Tensor, w: torch.Tensor, fill: float, block: int = 16) -> torch.Tensor:
    """A deliberately buggy launch of the Triton forward kernel (stride 1, padding 1, no bias): its grid
    has one row tile too few, so the last `block` output pixels are never written.

    The output buffer starts filled with `fill`: 0.0 is what fresh memory often holds, NaN is poison.
    """
    import triton

    from kernels.triton.forward import conv2d_forward_kernel
    from kernels.triton.launch import precision_constexprs

    N, C, H, W = x.shape
    K, _, R, S = w.shape
    P, Q = H + 2 - R + 1, W + 2 - S + 1
    y = torch.full((N, K, P, Q), fill, dtype=x.dtype, device=x.device)
    too_few_row_tiles = triton.cdiv(N * P * Q, block) - 1  # the bug: one program short
    conv2d_forward_kernel[(too_few_row_tiles, triton.cdiv(K, block), 1)](
        x, w, x, y, N, C, H, W, K, P, Q, R, S, 1, 1, 1, 1, 1, 1, 1,
        HAS_BIAS=False, **precision_constexprs(x.dtype),
        BLOCK_M=block, BLOCK_N=block, BLOCK_K=block,
    )
    return y


# ---- benchmarks --------------------------------------------------------------------------------

def cpu_backends(allow_build: bool) -> tuple[list[str], str]:
    """Backends to time on the CPU (torch first) and a note on the ones left out."""
    if not allow_build and not cpp_extension_built():
        return ["torch"], "cpp not timed: its extension is not built yet (it builds on first use, about a minute)"
    run, skipped = bench.backends_to_run("cpu")
    return run, "; ".join(f"{name} not timed: {why}" for name, why in skipped.items())


def measure(shapes, backends, reps: int, threads: int | None = None) -> tuple[list[bench.Row], str]:
    """kernels.bench rows (float32, CPU) for every shape and backend, and the machine they ran on."""
    with cpu_threads(threads):
        rows = [row for shape in shapes for row in bench.benchmark_shape(shape, backends, reps, torch.float32, "cpu")]
        return rows, bench.machine_description("cpu").replace(" 1 threads,", " 1 thread,")


def agreement_with_torch(backend: str, shape) -> float:
    """Relative error of `backend` against F.conv2d (float64) on a benchmark shape: fast must also be right."""
    N, C, H, W, K, k, stride, padding, groups = shape
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(N, C, H, W, generator=generator)
    w = torch.randn(K, C // groups, k, k, generator=generator)
    b = torch.randn(K, generator=generator)
    return forward_error(backend, x, w, b, stride=stride, padding=padding, groups=groups)


def gpu_note() -> str:
    """What the lesson can say about GPU numbers on this machine."""
    if torch.cuda.is_available():
        return f"GPU present ({torch.cuda.get_device_name()}): run `python -m kernels.bench --device cuda`"
    return "none measured: this machine has no GPU"
