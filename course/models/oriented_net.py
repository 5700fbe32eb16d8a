"""OrientedNet: a small fully convolutional net that labels which way the edge runs at every pixel.

The task (from `course.data.edge_orientations`): every pixel of a natural-like image gets one
of 8 edge directions (0°, 22.5°, ..., 157.5° across the edge) or "flat". The same question is
asked at every angle, so the first layer has every reason to hold the same edge detector at
several angles: turned copies, the families of lesson 08.

    model = OrientedNet()                     # children centre, conv1, relu1, conv2, relu2, head
    logits = model(images)                    # (N, 3, 32, 32) -> (N, 9, 32, 32)

The shipped checkpoint `oriented_net` is trained by `train_oriented_net` below (one thread,
seeded); `python -m course train oriented_net` retrains it from scratch.
"""
from __future__ import annotations

import time
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from course.data.edge_orientations import edge_orientation_data
from course.models.recipes import Recipe, recipe_metadata, resolve_overrides
from course.runtime.threads import cpu_threads
from course.runtime.train import fit

BINS = 8  # edge directions; label BINS means "flat"


class Centre(nn.Module):
    """x - 0.5: images in [0, 1] become signed around mid-grey (no parameters)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - 0.5


class OrientedNet(nn.Sequential):
    """centre → conv1 (7×7) → ReLU → conv2 (3×3) → ReLU → 1×1 head with BINS + 1 logits per pixel.

    c1, c2: channel widths. Input (N, 3, S, S) in [0, 1]; output (N, BINS + 1, S, S). Children are
    named, so `model.conv1` and units like "relu1:5" exist.
    """

    def __init__(self, c1: int = 16, c2: int = 24):
        super().__init__(OrderedDict([
            ("centre", Centre()),
            ("conv1", nn.Conv2d(3, c1, 7, padding=3)),
            ("relu1", nn.ReLU()),
            ("conv2", nn.Conv2d(c1, c2, 3, padding=1)),
            ("relu2", nn.ReLU()),
            ("head", nn.Conv2d(c2, BINS + 1, 1)),
        ]))


def pixel_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per pixel, averaged over pixels and images."""
    return F.cross_entropy(logits, labels)


@torch.no_grad()
def pixel_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, edges_only: bool = False,
                   batch_size: int = 500) -> float:
    """Fraction of pixels labelled right; edges_only: only over the pixels whose true label is a direction."""
    model.eval()
    correct, counted = 0, 0
    for i in range(0, len(images), batch_size):
        guess, truth = model(images[i:i + batch_size]).argmax(dim=1), labels[i:i + batch_size]
        keep = truth < BINS if edges_only else torch.ones_like(truth, dtype=torch.bool)
        correct += (guess == truth)[keep].sum().item()
        counted += keep.sum().item()
    return correct / max(counted, 1)


def majority_baseline(labels: torch.Tensor) -> float:
    """Pixel accuracy of always answering the most common label."""
    return torch.bincount(labels.flatten(), minlength=BINS + 1).max().item() / labels.numel()


ORIENTED_CONFIG = {"c1": 16, "c2": 24}
ORIENTED_DATA = {"dataset": "edge_orientations", "train_seed": 0, "test_seed": 1, "n_train": 4000, "n_test": 1000}
ORIENTED_TRAINING = {"epochs": 12, "lr": 3e-3, "batch_size": 64, "optimizer": "adam", "weight_decay": 3e-3, "seed": 1,
                     "threads": 1}


OTHER_SEEDS = (0, 2)  # lesson 08 asks whether what it finds in `oriented_net` (seed 1) holds for other seeds


def recipes():
    yield Recipe("oriented_net", "fully convolutional edge-direction labeller on natural-like images (lesson 08)",
                 "oriented_net", dict(ORIENTED_CONFIG), dict(ORIENTED_DATA), dict(ORIENTED_TRAINING),
                 trainer=train_oriented_net)
    for seed in OTHER_SEEDS:  # the same recipe with another seed for the initial weights and the shuffling
        yield Recipe(f"oriented_net_s{seed}", f"oriented_net with training seed {seed} (lesson 08: other seeds)",
                     "oriented_net", dict(ORIENTED_CONFIG), dict(ORIENTED_DATA), {**ORIENTED_TRAINING, "seed": seed},
                     trainer=train_oriented_net)


def train_oriented_net(recipe, *, progress: bool = True, **overrides) -> tuple[nn.Module, dict]:
    """Train an oriented_net recipe from scratch: (model in eval mode, metadata for save_checkpoint).

    overrides: training settings (epochs, lr, ...) or data sizes (n_train, n_test), e.g.
    epochs=1, n_train=200 for a quick test. Metrics: pixel accuracies (all pixels and edge
    pixels only) and the majority baseline.
    """
    training, data = resolve_overrides(recipe, overrides)
    train = edge_orientation_data(data["n_train"], data["train_seed"])
    test = edge_orientation_data(data["n_test"], data["test_seed"])
    torch.manual_seed(training["seed"])  # the initial weights
    model = OrientedNet(**recipe.config)
    started = time.perf_counter()
    history = fit(model, train, test, epochs=training["epochs"], lr=training["lr"],
                  batch_size=training["batch_size"], optimizer=training["optimizer"],
                  weight_decay=training["weight_decay"], loss_fn=pixel_cross_entropy, seed=training["seed"],
                  threads=training["threads"], device="cpu", progress=progress, description=recipe.name)
    with cpu_threads(training["threads"]):  # the same sums as in training, so the same argmax per pixel
        metrics = {
            "train_loss": history.train_loss[-1], "test_loss": history.test_loss[-1],
            "train_accuracy": pixel_accuracy(model, *train), "test_accuracy": pixel_accuracy(model, *test),
            "test_edge_accuracy": pixel_accuracy(model, *test, edges_only=True),
            "test_majority_baseline": majority_baseline(test[1]),
        }
    metadata = recipe_metadata(recipe, model, data, training, metrics, {"test_loss": history.test_loss},
                               time.perf_counter() - started)
    return model.eval(), metadata
