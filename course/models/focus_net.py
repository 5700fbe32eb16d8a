"""FocusNet: a small fully convolutional net that marks which pixels of an image are in focus.

The task (from `course.data.natural_images(..., return_focus=True)`): every pixel is either
part of a sharp, near leaf or of a background that may have been blurred. Telling them apart
needs local edges and textures (is there fine detail here?), so the early layers have reason
to grow oriented edge units and colour-contrast units: the material of lesson 08.

    model = FocusNet()                        # children conv1, relu1, ..., head, upsample
    logits = model(images)                    # (N, 3, 32, 32) -> (N, 1, 32, 32)

The shipped checkpoint `focus_net` is trained by `train_focus_net` below (one thread, seeded);
`python -m course train focus_net` retrains it from scratch.
"""
from __future__ import annotations

import time
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from course.data.natural_images import natural_images
from course.models.recipes import Recipe, recipe_metadata, resolve_overrides
from course.runtime.threads import cpu_threads
from course.runtime.train import fit


class FocusNet(nn.Sequential):
    """conv1 (5×5) → conv2 (3×3) → 2×2 max pool → 1×1 bottleneck → conv3 (3×3) → 1×1 head → ×2 upsample.

    c1, c2, cb, c3: channel widths. Input (N, 3, S, S) with S even; output (N, 1, S, S) logits
    of "this pixel is in focus". Children are named, so `model.conv2` and units like "relu2:5" exist.
    """

    def __init__(self, c1: int = 16, c2: int = 24, cb: int = 12, c3: int = 24):
        super().__init__(OrderedDict([
            ("conv1", nn.Conv2d(3, c1, 5, padding=2)),
            ("relu1", nn.ReLU()),
            ("conv2", nn.Conv2d(c1, c2, 3, padding=1)),
            ("relu2", nn.ReLU()),
            ("pool2", nn.MaxPool2d(2)),
            ("bottleneck", nn.Conv2d(c2, cb, 1)),
            ("relu_b", nn.ReLU()),
            ("conv3", nn.Conv2d(cb, c3, 3, padding=1)),
            ("relu3", nn.ReLU()),
            ("head", nn.Conv2d(c3, 1, 1)),
            ("upsample", nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)),
        ]))


def focus_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (n, 3, 32, 32), in-focus targets (n, 1, 32, 32) float 0/1) from the natural-image generator."""
    images, in_focus = natural_images(n, seed=seed, return_focus=True)
    return images, in_focus[:, None].float()


def pixel_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy per pixel, averaged over pixels and images."""
    return F.binary_cross_entropy_with_logits(logits, targets)


@torch.no_grad()
def pixel_accuracy(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, batch_size: int = 500) -> float:
    """Fraction of pixels whose in-focus label the model gets right (logit > 0 means in focus)."""
    model.eval()
    correct = sum(((model(images[i:i + batch_size]) > 0).float() == targets[i:i + batch_size]).sum().item()
                  for i in range(0, len(images), batch_size))
    return correct / targets.numel()


def majority_baseline(targets: torch.Tensor) -> float:
    """Pixel accuracy of always answering the more common label (the bar a model must clear)."""
    share = targets.float().mean().item()
    return max(share, 1 - share)


FOCUS_CONFIG = {"c1": 16, "c2": 24, "cb": 12, "c3": 24}
FOCUS_DATA = {"dataset": "natural_images_focus", "train_seed": 0, "test_seed": 1, "n_train": 8000, "n_test": 2000}
FOCUS_TRAINING = {"epochs": 12, "lr": 3e-3, "batch_size": 64, "optimizer": "adam", "weight_decay": 0.0, "seed": 0,
                  "threads": 1}


def recipes():
    yield Recipe("focus_net", "fully convolutional in-focus segmenter on natural-like images (lesson 08)",
                 "focus_net", dict(FOCUS_CONFIG), dict(FOCUS_DATA), dict(FOCUS_TRAINING),
                 trainer=train_focus_net)


def train_focus_net(recipe, *, progress: bool = True, **overrides) -> tuple[nn.Module, dict]:
    """Train a focus_net recipe from scratch: (model in eval mode, metadata for save_checkpoint).

    overrides: training settings (epochs, lr, ...) or data sizes (n_train, n_test), e.g.
    epochs=1, n_train=200 for a quick test. Metrics: pixel accuracies and the majority baseline.
    """
    training, data = resolve_overrides(recipe, overrides)
    train = focus_data(data["n_train"], data["train_seed"])
    test = focus_data(data["n_test"], data["test_seed"])
    torch.manual_seed(training["seed"])  # the initial weights
    model = FocusNet(**recipe.config)
    started = time.perf_counter()
    history = fit(model, train, test, epochs=training["epochs"], lr=training["lr"],
                  batch_size=training["batch_size"], optimizer=training["optimizer"],
                  weight_decay=training["weight_decay"], loss_fn=pixel_loss, seed=training["seed"],
                  threads=training["threads"], device="cpu", progress=progress, description=recipe.name)
    with cpu_threads(training["threads"]):  # the same sums as in training, so the same thresholded pixels
        metrics = {
            "train_loss": history.train_loss[-1], "test_loss": history.test_loss[-1],
            "train_accuracy": pixel_accuracy(model, *train), "test_accuracy": pixel_accuracy(model, *test),
            "test_majority_baseline": majority_baseline(test[1]),
        }
    metadata = recipe_metadata(recipe, model, data, training, metrics, {"test_loss": history.test_loss},
                               time.perf_counter() - started)
    return model.eval(), metadata
