"""A hypernetwork: a network H(context, u) whose output is the weight vector of another network G.

G is a one-hidden-layer tanh net on x (x_dim inputs, `hidden` units, one output). All its
weights sit in one flat vector theta of length hidden * (x_dim + 2) + 1, laid out as

    theta = [ V (hidden x x_dim, row by row) | b (hidden) | r (hidden) | s (1) ]
    G(x, theta) = sum_j r[j] * tanh(V[j] . x + b[j]) + s

The hypernetwork computes a separate theta for every sample from that sample's context, so
each context gets its own G. The baseline `FixedTarget` is the same G architecture with one
set of trainable weights shared by all contexts; it may also read the context as extra inputs.
Both models take rows [context, x] and return (B, 1), which is what `course.train.fit` needs.
"""
from __future__ import annotations

import torch
from torch import nn

from course.threads import cpu_threads
from course.train import fit


def target_parameter_count(hidden: int, x_dim: int = 1) -> int:
    """Length of G's flat weight vector theta."""
    return hidden * (x_dim + 2) + 1


def target_forward(x: torch.Tensor, theta: torch.Tensor, hidden: int) -> torch.Tensor:
    """G(x, theta) with per-sample weights: x (B, x_dim), theta (B, P) -> (B,)."""
    B, x_dim = x.shape
    V = theta[:, : hidden * x_dim].reshape(B, hidden, x_dim)
    b, r, s = theta[:, hidden * x_dim :].split([hidden, hidden, 1], dim=1)
    activity = torch.tanh(torch.einsum("bjd,bd->bj", V, x) + b)
    return (r * activity).sum(dim=1) + s[:, 0]


class HyperNetwork(nn.Module):
    """H(context, u): a tanh MLP from the context to theta; then G(x, theta) for each row."""

    def __init__(self, context_dim: int = 3, hyper_hidden: int = 64, hidden: int = 16, x_dim: int = 1):
        super().__init__()
        self.context_dim, self.hidden = context_dim, hidden
        self.H = nn.Sequential(nn.Linear(context_dim, hyper_hidden), nn.Tanh(),
                               nn.Linear(hyper_hidden, target_parameter_count(hidden, x_dim)))

    def weights_for(self, context: torch.Tensor) -> torch.Tensor:
        """theta for each context, (B, P): the weights of the G this context gets."""
        return self.H(context)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        context, x = inputs[:, : self.context_dim], inputs[:, self.context_dim :]
        return target_forward(x, self.weights_for(context), self.hidden)[:, None]


class FixedTarget(nn.Module):
    """The baseline: G with its own trainable weights, the same for every context.

    With `sees_context` the context columns are extra inputs of G's first layer (the fair
    comparison: the same information as the hypernetwork); without, G sees x alone and can
    at best learn the family's average curve.
    """

    def __init__(self, context_dim: int = 3, hidden: int = 16, x_dim: int = 1, sees_context: bool = True):
        super().__init__()
        self.first_input = 0 if sees_context else context_dim
        inputs = x_dim + (context_dim if sees_context else 0)
        self.G = nn.Sequential(nn.Linear(inputs, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.G(inputs[:, self.first_input :])


def train_models(models: dict, train, test, *, epochs: int, lr: float, batch_size: int, seed: int) -> dict:
    """Train each model with the same data, optimiser, epochs and shuffling; returns their histories."""
    with cpu_threads(1):
        return {name: fit(model, train, test, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                          device="cpu", description=name)
                for name, model in models.items()}


@torch.no_grad()
def curves_for(model: nn.Module, contexts: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The model's curve y(x) for each context: contexts (K, c), x (M,) -> (K, M)."""
    K, M = len(contexts), len(x)
    rows = torch.cat([contexts.repeat_interleave(M, dim=0), x.repeat(K)[:, None]], dim=1)
    return model(rows.to(contexts.dtype)).reshape(K, M)
