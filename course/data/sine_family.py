"""A family of 1-D functions indexed by a context: y = a * sin(b * x + c), context (a, b, c).

No single function of x fits the whole family: which curve is right depends on the
context. The data are rows [a, b, c, x] with target y, so the context travels with
every sample; train and test use different, freshly drawn contexts.
"""
from __future__ import annotations

import math

import torch

AMPLITUDE = (0.5, 1.5)   # a
FREQUENCY = (0.5, 2.0)   # b
PHASE = (0.0, math.pi)   # c
X_RANGE = (-math.pi, math.pi)
CONTEXT_DIM = 3


def sine_curve(context: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """y = a sin(b x + c) for context (..., 3) = (a, b, c) and x (...,) broadcasting against it."""
    a, b, c = context.unbind(-1)
    return a * torch.sin(b * x + c)


def random_contexts(count: int, generator: torch.Generator) -> torch.Tensor:
    """(count, 3) contexts (a, b, c), each drawn uniformly from its range."""
    low = torch.tensor([AMPLITUDE[0], FREQUENCY[0], PHASE[0]])
    high = torch.tensor([AMPLITUDE[1], FREQUENCY[1], PHASE[1]])
    return low + (high - low) * torch.rand(count, CONTEXT_DIM, generator=generator)


def sine_family(contexts: int, points_per_context: int, seed: int):
    """Seeded samples of the family: inputs (N, 4) rows [a, b, c, x], targets (N, 1), float32.

    N = contexts * points_per_context; each context gets its own uniformly drawn x values.
    """
    g = torch.Generator().manual_seed(seed)
    context = random_contexts(contexts, g).repeat_interleave(points_per_context, dim=0)
    x = X_RANGE[0] + (X_RANGE[1] - X_RANGE[0]) * torch.rand(len(context), generator=g)
    inputs = torch.cat([context, x[:, None]], dim=1)
    return inputs, sine_curve(context, x)[:, None]
