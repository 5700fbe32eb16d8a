"""Poisoned outputs: how the conformance suite catches an output element no kernel wrote.

A kernel that forgets a tile (a wrong grid, a mask that is too strict) leaves whatever the
allocator handed out in that part of the output. Freshly allocated memory is often zero, and zero is
often close to the right answer, so such a bug can pass a comparison by luck. Inside
`poisoned_outputs()`, backends that allocate their output buffers through `new_output` fill them
with NaN first: an element the kernel never wrote stays NaN and fails every comparison.

A backend that honours this sets `POISONS_OUTPUTS = True` in its module; the conformance suite
reports a skip, with the reason, for one that does not.
"""
from __future__ import annotations

import contextlib
import threading

import torch

_state = threading.local()


def is_poisoning() -> bool:
    """True inside a `poisoned_outputs()` block (on this thread)."""
    return getattr(_state, "poisoning", False)


@contextlib.contextmanager
def poisoned_outputs():
    """Within this block, `new_output` returns buffers filled with NaN instead of uninitialised memory."""
    previous = is_poisoning()
    _state.poisoning = True
    try:
        yield
    finally:
        _state.poisoning = previous


def new_output(shape, like: torch.Tensor) -> torch.Tensor:
    """An output buffer with `like`'s dtype and device: uninitialised, or all NaN while poisoning."""
    if is_poisoning():
        return torch.full(tuple(shape), float("nan"), dtype=like.dtype, device=like.device)
    return torch.empty(tuple(shape), dtype=like.dtype, device=like.device)
