"""Lesson 03: one detector slid along a signal, hand-built letter templates, and a net that learns its own.

A motif detector: one small function slid along a sequence, then the best window wins.

    windows[n, i, :] = x[n, i : i + k]             every window of length k (i = 0 .. n-k)
    score[n]         = max_i  windows[n, i] . w    the same weights w at every window
    logit[n]         = score[n] + b

Because every window uses the same w, a motif scores the same wherever it sits, and
the gradient of the loss with respect to w is the sum of the gradients the windows would
get if each had its own copy of w. This file holds the detector, that gradient check,
and what happens to an update when the gradients of two steps are not zeroed in between.

Hand-built templates that tell "C" from "D": endpoints and corners, counted anywhere.

A template is a 3x3 picture of a local feature: +1 where the feature has ink, -1 where
it must not. Slid over the image (cross-correlation, one pixel of zero padding), it
answers with (ink it finds where it wants ink) - (ink it finds where it wants none), so
on a 0/1 image it reaches its number of +1 entries exactly where the window equals its
picture. Thresholding at that number keeps the perfect matches only:

    endpoint (a stroke that stops)      corner (two strokes meeting at a right angle)
      - - -                               - - -
      + + -     threshold 2               - + +     threshold 3
      - - -                               - + -

Each comes in four orientations (rot90). Summing the thresholded maps counts endpoints
and corners wherever they are; two endpoints and no corner make a C, two corners and
no endpoint a D. The same weights are used at every position, so the counts, and hence
the decision, do not change when the letter moves.

A tiny conv net that learns its own templates, and a dense net that cannot share them.

    TemplateNet:  image (N, 1, H, W) -> conv k x k, C channels -> ReLU -> max over all
                  positions -> linear C -> 2 logits

The conv channels play the part of the hand-built templates and the global max asks
"did this template fire anywhere?". With padding k - 1 every window that overlaps the
image is scored, so on a zero background moving the letter moves the response maps and
leaves their maxima, hence the logits, exactly unchanged. `DenseNet` sees the same pixels
with no sharing between positions: a weight learned at one place says nothing about
another.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course.data.letters import LETTERS, glyph, place


# ---- motif detectors ---------------------------------------------------------------------------

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
    `course.runtime.train.fit`): without zero_grad, backward() adds the new gradient to the old
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


# ---- hand-built letter templates ---------------------------------------------------------------

ENDPOINT_INK = ((0, 0, 0), (1, 1, 0), (0, 0, 0))  # a horizontal stroke ending at the centre
CORNER_INK = ((0, 0, 0), (0, 1, 1), (0, 1, 0))    # strokes leaving the centre rightwards and downwards
ENDPOINT_THRESHOLD = 2.0
CORNER_THRESHOLD = 3.0


def picture_template(ink) -> torch.Tensor:
    """+1 where the feature has ink, -1 everywhere else: (k, k) float64."""
    ink = torch.tensor(ink, dtype=torch.float64)
    return 2 * ink - 1


def four_orientations(template: torch.Tensor) -> torch.Tensor:
    """The template turned by 0, 90, 180 and 270 degrees: (4, k, k)."""
    return torch.stack([torch.rot90(template, r, dims=(0, 1)) for r in range(4)])


ENDPOINT_TEMPLATES = four_orientations(picture_template(ENDPOINT_INK))
CORNER_TEMPLATES = four_orientations(picture_template(CORNER_INK))


def template_responses(image: torch.Tensor, templates: torch.Tensor, threshold: float) -> torch.Tensor:
    """Thresholded cross-correlation maps: image (H, W), templates (T, k, k), k odd -> (T, H, W).

    1.0 where the response (zero padding k // 2, no kernel flip) is >= threshold, else 0.0.
    """
    k = templates.shape[-1]
    response = F.conv2d(image[None, None], templates[:, None].to(image.dtype), padding=k // 2)[0]
    return (response >= threshold).to(image.dtype)


def raw_responses(image: torch.Tensor, templates: torch.Tensor) -> torch.Tensor:
    """The cross-correlation maps before thresholding: (T, H, W)."""
    k = templates.shape[-1]
    return F.conv2d(image[None, None], templates[:, None].to(image.dtype), padding=k // 2)[0]


def count_features(image: torch.Tensor) -> tuple[int, int]:
    """(endpoints, corners) found anywhere in a (H, W) 0/1 image."""
    endpoints = template_responses(image, ENDPOINT_TEMPLATES, ENDPOINT_THRESHOLD).sum()
    corners = template_responses(image, CORNER_TEMPLATES, CORNER_THRESHOLD).sum()
    return int(endpoints), int(corners)


def classify_c_or_d(image: torch.Tensor) -> int:
    """0 (C) when endpoints outnumber corners, 1 (D) when corners outnumber endpoints, -1 on a tie."""
    endpoints, corners = count_features(image)
    return 0 if endpoints > corners else 1 if corners > endpoints else -1


def letter_example(name: str, row: int, col: int) -> dict:
    """A 6x5 letter placed at (row, col) of the grid, its endpoint and corner maps (thresholded
    and raw, (4, H, W) each) and the verdict of the counting rule ("C", "D" or "tie")."""
    image = place(glyph(name, 6, 5), row, col)
    verdict = classify_c_or_d(image)
    return dict(name=name, image=image, verdict=LETTERS[verdict] if verdict >= 0 else "tie",
                endpoint_maps=template_responses(image, ENDPOINT_TEMPLATES, ENDPOINT_THRESHOLD),
                corner_maps=template_responses(image, CORNER_TEMPLATES, CORNER_THRESHOLD),
                endpoint_raw=raw_responses(image, ENDPOINT_TEMPLATES), corner_raw=raw_responses(image, CORNER_TEMPLATES))


# ---- a net that learns its templates -----------------------------------------------------------

class TemplateNet(nn.Module):
    def __init__(self, channels: int = 4, k: int = 3):
        super().__init__()
        self.conv = nn.Conv2d(1, channels, k, padding=k - 1)
        self.readout = nn.Linear(channels, 2)

    def response_maps(self, images: torch.Tensor) -> torch.Tensor:
        """ReLU(conv(images)): (N, C, H + k - 1, W + k - 1)."""
        return torch.relu(self.conv(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.readout(self.response_maps(images).amax(dim=(-2, -1)))


class DenseNet(nn.Module):
    """Flatten -> linear -> ReLU -> linear: a weight per pixel, nothing shared across positions."""

    def __init__(self, pixels: int, hidden: int = 32):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(pixels, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.layers(images)


@torch.no_grad()
def predictions(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Predicted class per image (N,) int64, in evaluation mode."""
    model.eval()
    return model(images.to(next(model.parameters()).dtype)).argmax(dim=1)


@torch.no_grad()
def logit_spread_over_shifts(model: nn.Module, images: torch.Tensor, groups: torch.Tensor) -> float:
    """Largest change of the logits when one glyph (a group id per image) moves to any position."""
    model.eval()
    logits = model(images.to(next(model.parameters()).dtype))
    spread = 0.0
    for group in groups.unique():
        same = logits[groups == group]
        spread = max(spread, (same - same[0]).abs().max().item())
    return spread


def accuracy_by_offset(correct: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Mean of `correct` (N,) over the images whose glyph sits at each (row, col) offset: (rows, cols)."""
    rows, cols = (int(offsets[:, 0].max()) + 1, int(offsets[:, 1].max()) + 1)
    index = offsets[:, 0] * cols + offsets[:, 1]
    total = torch.zeros(rows * cols, dtype=torch.float64).index_add_(0, index, correct.double())
    count = torch.zeros(rows * cols, dtype=torch.float64).index_add_(0, index, torch.ones(len(index), dtype=torch.float64))
    return (total / count.clamp(min=1)).reshape(rows, cols)
