"""How a convolution kernel is checked: a trusted reference, a stated tolerance, gradcheck, poisoned outputs.

- Reference: torch.nn.functional.conv2d evaluated in float64, so the reference's own rounding
  does not count against the kernel.
- Tolerance: the error relative to the largest reference value; float32 accumulation keeps it
  near 1e-7, so 1e-5 (the conformance suite's float32 tolerance) leaves room for long sums only.
- gradcheck: the kernel's backward against finite differences of its own forward, in float64.
- Poison: an output buffer filled with NaN before the kernel runs, so an element no program
  wrote cannot pass for a right answer (fresh memory is often 0, and 0 is often right).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

import kernels

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

    N, C, H, W = x.shape
    K, _, R, S = w.shape
    P, Q = H + 2 - R + 1, W + 2 - S + 1
    y = torch.full((N, K, P, Q), fill, dtype=x.dtype, device=x.device)
    too_few_row_tiles = triton.cdiv(N * P * Q, block) - 1  # the bug: one program short
    conv2d_forward_kernel[(too_few_row_tiles, triton.cdiv(K, block), 1)](
        x, w, x, y, N, C, H, W, K, P, Q, R, S, 1, 1, 1, 1, 1, 1, 1,
        HAS_BIAS=False, ACC_FLOAT64=x.dtype == torch.float64, UPCAST_OPERANDS=False,
        BLOCK_M=block, BLOCK_N=block, BLOCK_K=block,
    )
    return y
