"""BandingNet: the Circuits article's "simplified network", at the size of a laptop.

Groups of 3x3 conv + batch norm + ReLU layers (batch norm as in the article), separated by
L2 pooling; the last conv layer's maps then go through a pooling *head* into one linear
classifier. The head is what the experiment changes:

    head="gap"      global average pooling: one number per channel (the baseline)
    head="flatten"  no pooling: every position of every channel goes to the classifier
    head="avg_x"    average along x only: one number per channel and row (height is kept)

The model is an `nn.Sequential` of named children (conv1a, bn1a, relu1a, pool1, conv2a,
..., conv3b, bn3b, relu3b, head, fc), so `model.conv3b` is the last conv layer whose weights band.

`recipes()` yields the shipped variants x seeds (`banding_baseline_s0`, ...): the baseline,
the baseline trained on images turned by 90° (`rotated`), `flatten`, `avg_x`, and a control the
article did not run, `shape_only`: the baseline on the same images labelled by shape alone.
`python -m course train banding_baseline_s0` retrains one; `train all` retrains every model.

Scaling the article down (it trained on ImageNet for 90 epochs), what was tried:
- sizes: 32x32 scenes, widths 8 | 16, 16 | 24, 24, 6000 training scenes, 8 epochs: about 25 s of
  one CPU thread per model, all 15 in about 6 CPU minutes;
- without batch norm the net stayed at chance (loss ln 4) for 6 epochs: the signal shrank about
  tenfold through five default-initialised conv layers; batch norm (which the article used) fixed it;
- lr 3e-3 made test accuracy jump between epochs (0.995 then 0.73); 2e-3 is steadier. 1e-3 on
  the weakest seed (rotated, seed 2) was steadier still but banded less, so 2e-3 stayed;
- data: the class needs absolute height (an object high or low), the horizon moves so that
  "against sky" only partly tells height, and clutter and texture keep spatial features necessary.
"""
from __future__ import annotations

import time
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from course.data.vertical_scenes import vertical_scenes
from course.models.recipes import Recipe, recipe_metadata, resolve_overrides
from course.runtime.train import fit

HEADS = ("gap", "flatten", "avg_x")


class L2Pool(nn.Module):
    """Root-mean-square pooling over k x k windows (stride k): sqrt(mean(x^2) + eps).

    Between average pooling (all of a window counts) and max pooling (the largest counts
    most). eps keeps the gradient finite where a window is all zeros (dead ReLUs).
    """

    def __init__(self, kernel_size: int = 2, eps: float = 1e-6):
        super().__init__()
        self.kernel_size, self.eps = kernel_size, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(F.avg_pool2d(x * x, self.kernel_size) + self.eps)


class AveragePool(nn.Module):
    """Average the maps (N, C, H, W) over x only -> (N, C*H), or over x and y -> (N, C)."""

    def __init__(self, over: str):
        super().__init__()
        if over not in ("x", "xy"):
            raise ValueError(f"over must be 'x' or 'xy', got {over!r}")
        self.over = over

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=-1 if self.over == "x" else (-2, -1)).flatten(1)


class BandingNet(nn.Sequential):
    """Conv groups with L2 pooling between them, a pooling head, a linear classifier.

    groups: output widths of the 3x3 conv layers of each group, e.g. ((8,), (16, 16), (24, 24)):
    group g's layers are conv{g}a, conv{g}b, ... each followed by bn{g}a and relu{g}a, ...; an L2 pool
    (2x2) follows every group but the last. head: "gap" | "flatten" | "avg_x" (module doc).
    """

    def __init__(self, in_channels: int = 3, groups=((8,), (16, 16), (24, 24)), head: str = "gap",
                 classes: int = 4, image_size: int = 32):
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        layers, previous = OrderedDict(), in_channels
        for g, widths in enumerate(groups, start=1):
            for letter, width in zip("abcdefgh", widths):
                layers[f"conv{g}{letter}"] = nn.Conv2d(previous, width, 3, padding=1)
                layers[f"bn{g}{letter}"] = nn.BatchNorm2d(width)
                layers[f"relu{g}{letter}"] = nn.ReLU()
                previous = width
            if g < len(groups):
                layers[f"pool{g}"] = L2Pool(2)
        final = image_size // 2 ** (len(groups) - 1)
        layers["head"] = {"gap": AveragePool("xy"), "flatten": nn.Flatten(), "avg_x": AveragePool("x")}[head]
        features = previous * {"gap": 1, "flatten": final * final, "avg_x": final}[head]
        layers["fc"] = nn.Linear(features, classes)
        super().__init__(layers)

    @property
    def last_conv(self) -> nn.Conv2d:
        return [m for m in self if isinstance(m, nn.Conv2d)][-1]


# The variants of the experiment: name -> (head, rotated data, task). "shape_only" is a control
# the article did not run: the baseline network and images, but labels that ignore height.
VARIANTS = {"baseline": ("gap", False, "shape_and_height"), "rotated": ("gap", True, "shape_and_height"),
            "flatten": ("flatten", False, "shape_and_height"), "avg_x": ("avg_x", False, "shape_and_height"),
            "shape_only": ("gap", False, "shape")}
SEEDS = (0, 1, 2)
GROUPS = [[8], [16, 16], [24, 24]]
DATA = {"dataset": "vertical_scenes", "seed": 0, "n_train": 6000, "n_test": 1000}
TRAINING = {"epochs": 8, "lr": 2e-3, "batch_size": 64, "optimizer": "adam", "threads": 1}


def recipes():
    """One Recipe per variant x seed; the seed sets the initial weights and the shuffling."""
    what = {"baseline": "global average pooling", "rotated": "global average pooling, images turned by 90°",
            "flatten": "no pooling: all positions into the classifier", "avg_x": "average pooling along x only",
            "shape_only": "global average pooling, labels by shape only (height irrelevant)"}
    for variant, (head, rotated, task) in VARIANTS.items():
        classes, data = (4, {**DATA, "rotated": rotated}) if task == "shape_and_height" else \
            (2, {**DATA, "rotated": rotated, "task": task})
        for seed in SEEDS:
            yield Recipe(f"banding_{variant}_s{seed}", f"BandingNet, {what[variant]}, seed {seed}", "banding_net",
                         {"in_channels": 3, "groups": GROUPS, "head": head, "classes": classes, "image_size": 32},
                         data, {**TRAINING, "seed": seed},
                         trainer=train_banding)


def banding_data(data: dict, n_train: int | None = None, n_test: int | None = None):
    """The ((x_train, y_train), (x_test, y_test)) a recipe's data spec names; test images use seed + 1.

    data: {"seed", "n_train", "n_test", "rotated"} and optionally "task" (default "shape_and_height").
    """
    n_train, n_test = n_train or data["n_train"], n_test or data["n_test"]
    scenes = {"rotated": data["rotated"], "task": data.get("task", "shape_and_height")}
    train = vertical_scenes(n_train, seed=data["seed"], **scenes)
    test = vertical_scenes(n_test, seed=data["seed"] + 1, **scenes)
    return train, test


def train_banding(recipe, *, progress: bool = True, **overrides):
    """Train one BandingNet recipe from scratch: (model in eval mode, metadata for save_checkpoint).

    overrides: epochs, lr, batch_size (training) or n_train, n_test (data sizes).
    """
    training, data = resolve_overrides(recipe, overrides)
    train, test = banding_data(data)
    torch.manual_seed(training["seed"])
    model = BandingNet(**recipe.config)
    started = time.perf_counter()
    history = fit(model, train, test, epochs=training["epochs"], lr=training["lr"], batch_size=training["batch_size"],
                  optimizer=training["optimizer"], seed=training["seed"], threads=training["threads"], device="cpu",
                  progress=progress, description=recipe.name)
    metadata = recipe_metadata(recipe, model, data, training, history.last(),
                               {"test_accuracy": history.test_accuracy}, time.perf_counter() - started)
    return model.eval(), metadata
