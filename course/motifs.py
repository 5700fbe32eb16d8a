"""A motif detector: one small function slid along a sequence, then the best window wins.

    windows[n, i, :] = x[n, i : i + k]             every window of length k (i = 0 .. n-k)
    score[n]         = max_i  windows[n, i] . w    the same weights w at every window
    logit[n]         = score[n] + b

Because every window uses the same w, a motif scores the same wherever it sits, and
the gradient of the loss with respect to w is the sum of the gradients the windows would
get if each had its own copy of w. This file holds the detector, that gradient check,
and what happens to an update when the gradients of two steps are not zeroed in between.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def sliding_windows(x: torch.Tensor, k: int) -> torch.Tensor:
    """Every length-k window of the last axis: (..., n) -> (..., n - k + 1, k), windows[..., i, j] = x[..., i + j]."""
    return x.unfold(-1, k, 1)


def motif_score(x: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Best window score and where it is: x (N, n), w (k,) -> scores (N,), positions (N,) int64."""
    return (sliding_windows(x, len(w)) @ w).max(dim=-1)


class MotifDetector(nn.Module):
    """Shared weights w (k,) and a bias b; forward gives two-class logits (N, 2) = [0, score + b]."""

    def __init__(self, k: int):
        super().__init__()
        self.weight = nn.Parameter(0.1 * torch.randn(k))
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores, _ = motif_score(x, self.weight)
        logit = scores + self.bias
        return torch.stack([torch.zeros_like(logit), logit], dim=1)


class MultiStartDetector(nn.Module):
    """`starts` independent motif detectors trained side by side; logits (N, 2, starts).

    A max-pooled detector can settle on *part* of the motif (its kernel shifted by a few
    taps): a local optimum. Training many starts at once costs little more than one;
    train it with targets repeated per start, labels[:, None].expand(-1, starts), then
    keep `best(x, labels)`, the start with the lowest loss.
    """

    def __init__(self, k: int, starts: int):
        super().__init__()
        self.weight = nn.Parameter(0.1 * torch.randn(starts, k))
        self.bias = nn.Parameter(torch.zeros(starts))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = (sliding_windows(x, self.weight.shape[1]) @ self.weight.T).max(dim=1).values  # (N, starts)
        logit = scores + self.bias
        return torch.stack([torch.zeros_like(logit), logit], dim=1)

    @torch.no_grad()
    def losses(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Each start's mean cross-entropy on (x, labels): (starts,)."""
        targets = labels[:, None].expand(-1, self.weight.shape[0])
        return F.cross_entropy(self(x), targets, reduction="none").mean(dim=0)

    @torch.no_grad()
    def best(self, x: torch.Tensor, labels: torch.Tensor) -> "MotifDetector":
        """The start with the lowest loss on (x, labels), as a single MotifDetector."""
        i = self.losses(x, labels).argmin()
        detector = MotifDetector(self.weight.shape[1]).to(self.weight.dtype)
        detector.weight.copy_(self.weight[i])
        detector.bias.copy_(self.bias[i])
        return detector


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    """cos of the angle between two vectors: 1 means the same shape up to a positive scale."""
    return F.cosine_similarity(a.flatten().double(), b.flatten().double(), dim=0).item()


@dataclass
class TiedGradientCheck:
    shared: torch.Tensor      # (k,) dC/dw from autograd through the detector with one shared w
    per_window: torch.Tensor  # (P, k) dC/dw_i when window i gets its own copy w_i (all equal to w)
    max_error: float          # max |shared - per_window.sum(0)|


def tied_gradient_check(model: MotifDetector, x: torch.Tensor, labels: torch.Tensor) -> TiedGradientCheck:
    """Compare the shared weights' gradient with the sum of per-window gradients (use float64).

    The untied network gives window i its own leaf w_i, equal in value to w, so it computes
    the same loss; autograd then reports one gradient per copy.
    """
    w, b = model.weight, model.bias
    shared, = torch.autograd.grad(F.cross_entropy(model(x), labels), w)
    windows = sliding_windows(x, len(w))                                  # (N, P, k)
    copies = w.detach().expand(windows.shape[1], -1).clone().requires_grad_()  # (P, k): w_i = w
    logit = (windows * copies).sum(-1).max(dim=1).values + b.detach()
    loss = F.cross_entropy(torch.stack([torch.zeros_like(logit), logit], dim=1), labels)
    per_window, = torch.autograd.grad(loss, copies)
    return TiedGradientCheck(shared, per_window, (shared - per_window.sum(0)).abs().max().item())


@dataclass
class SgdStep:
    loss: float
    batch_gradient: torch.Tensor  # (k,) this batch's own dC/dw (what backward() added to w.grad)
    gradient: torch.Tensor        # (k,) what w.grad held when the optimiser stepped
    update: torch.Tensor          # (k,) w after the step minus w before


def sgd_steps(model: MotifDetector, batches, lr: float, *, zero_grad: bool = True) -> list[SgdStep]:
    """Plain SGD steps on `model`, one per (x, labels) batch, optionally *forgetting* zero_grad.

    A demonstration of the mechanics, not a training loop (lessons train with
    `course.train.fit`): without zero_grad, backward() adds the new gradient to the old
    one, so every step also repeats all the earlier steps.
    """
    optimiser = torch.optim.SGD(model.parameters(), lr=lr)
    optimiser.zero_grad()
    steps = []
    for x, labels in batches:
        if zero_grad:
            optimiser.zero_grad()
        held = model.weight.grad.detach().clone() if model.weight.grad is not None else 0.0
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        gradient = model.weight.grad.detach().clone()
        before = model.weight.detach().clone()
        optimiser.step()
        steps.append(SgdStep(loss.item(), gradient - held, gradient, model.weight.detach() - before))
    return steps
