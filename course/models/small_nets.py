"""The small networks the lessons train: a conv / ReLU / pool stack and a same-size MLP.

Both take images (N, C, H, W) and return class scores (N, classes). They are built from a
plain config dict (the constructor's keyword arguments), so a checkpoint can record how
to rebuild its model: `build_model("small_cnn", config)` (course.models.registry).

`recipes()` declares the shipped shapes classifiers (`shapes_cnn`, `shapes_mlp` and their
permuted-pixel twins) and `train_shapes_classifier` trains one of them.
"""
from __future__ import annotations

import time

import torch
from torch import nn

from course.data.shapes import Shapes
from course.models.recipes import Recipe, recipe_metadata, resolve_overrides
from course.runtime.train import fit


class SmallCNN(nn.Module):
    """Blocks of conv (k x k, 'same' padding) -> ReLU -> 2x2 max pool, then one linear classifier.

    channels: output channels of each block, e.g. (8, 16, 32): three blocks, so a 32x32
    input ends as 32 maps of 4x4. The blocks are `self.blocks[i]`, so a lesson can look at
    the feature maps after each one.
    """

    def __init__(self, in_channels: int = 1, channels=(8, 16, 32), classes: int = 5, image_size: int = 32,
                 kernel_size: int = 3):
        super().__init__()
        layers, previous = [], in_channels
        for width in channels:
            layers.append(nn.Sequential(nn.Conv2d(previous, width, kernel_size, padding=kernel_size // 2),
                                        nn.ReLU(), nn.MaxPool2d(2)))
            previous = width
        self.blocks = nn.ModuleList(layers)
        final = image_size // 2 ** len(channels)
        self.classifier = nn.Linear(previous * final * final, classes)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The feature maps after each block: a list of (N, channels[i], H / 2^(i+1), W / 2^(i+1))."""
        maps = []
        for block in self.blocks:
            x = block(x)
            maps.append(x)
        return maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x)[-1].flatten(1))


class MLP(nn.Module):
    """Flatten the image, then fully connected layers with ReLU between them.

    hidden: widths of the hidden layers, e.g. (8,). Every input pixel has its own weight to
    every hidden unit, so the MLP knows nothing about which pixels are neighbours.
    """

    def __init__(self, in_channels: int = 1, hidden=(8,), classes: int = 5, image_size: int = 32):
        super().__init__()
        widths = [in_channels * image_size * image_size, *hidden]
        layers = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(nn.Flatten(), *layers, nn.Linear(widths[-1], classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


ARCHITECTURES = {"small_cnn": SmallCNN, "mlp": MLP}

# One CPU thread: the same sums in the same order on any machine, and small nets on a busy
# machine train faster on one thread than on two that keep waiting for each other.
SHAPES_TRAINING = {"epochs": 10, "lr": 5e-3, "batch_size": 64, "optimizer": "adam", "seed": 0, "threads": 1}


def recipes():
    """The shapes classifiers: the CNN and a same-size MLP, on plain and on pixel-permuted images."""
    cnn = ("small_cnn", {"in_channels": 1, "channels": [8, 16, 32], "classes": 5, "image_size": 32, "kernel_size": 3})
    mlp = ("mlp", {"in_channels": 1, "hidden": [8], "classes": 5, "image_size": 32})
    for permutation_seed, suffix, how in ((None, "", ""), (1234, "_permuted", ", pixels in a fixed random order")):
        data = {"dataset": "shapes", "seed": 0, "n_train": 6000, "n_test": 2000, "permutation_seed": permutation_seed}
        yield Recipe(f"shapes_cnn{suffix}", f"3-block conv/ReLU/pool net on the shapes set{how}", *cnn, data,
                     dict(SHAPES_TRAINING), train_shapes_classifier)
        yield Recipe(f"shapes_mlp{suffix}", f"MLP with one hidden layer of 8, same size as the CNN{how}", *mlp, data,
                     dict(SHAPES_TRAINING), train_shapes_classifier)


def shapes_data(data: dict) -> tuple[Shapes, Shapes]:
    """The (train, test) data sets a shapes recipe names."""
    if data["dataset"] != "shapes":
        raise ValueError(f"unknown data set {data['dataset']!r}")
    common = {"seed": data["seed"], "permutation_seed": data["permutation_seed"]}
    return Shapes("train", n=data["n_train"], **common), Shapes("test", n=data["n_test"], **common)


def train_shapes_classifier(recipe: Recipe, *, progress: bool = True, data=None,
                            **overrides) -> tuple[nn.Module, dict]:
    """Train a shapes recipe's model from scratch; returns (model in eval mode, metadata for save_checkpoint).

    overrides: replace training settings (e.g. epochs=1 for a quick try) or, as
    n_train / n_test, data sizes. `data`: an already generated (train, test) pair to reuse.
    """
    training, data_spec = resolve_overrides(recipe, overrides)
    train, test = data if data is not None else shapes_data(data_spec)
    torch.manual_seed(training["seed"])  # the initial weights
    model = ARCHITECTURES[recipe.architecture](**recipe.config)
    started = time.perf_counter()
    history = fit(model, train.tensors(), test.tensors(), epochs=training["epochs"], lr=training["lr"],
                  batch_size=training["batch_size"], optimizer=training["optimizer"], seed=training["seed"],
                  threads=training["threads"], device="cpu", progress=progress, description=recipe.name)
    metrics = history.last()
    metadata = recipe_metadata(recipe, model, data_spec, training, metrics,
                               {"test_accuracy": history.test_accuracy}, time.perf_counter() - started)
    return model.eval(), metadata
