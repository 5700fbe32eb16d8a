"""The small networks the lessons train: a conv / ReLU / pool stack and a same-size MLP.

Both take images (N, C, H, W) and return class scores (N, classes). They are built from a
plain config dict (the constructor's keyword arguments), so a checkpoint can record how
to rebuild its model: `build_model("small_cnn", config)`.
"""
from __future__ import annotations

import importlib

import torch
from torch import nn


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


# Architectures defined elsewhere are named as "module:Class" and imported only when built.
ARCHITECTURES = {
    "small_cnn": SmallCNN,
    "mlp": MLP,
    "focus_net": "course.models.focus_net:FocusNet",
    "oriented_net": "course.models.oriented_net:OrientedNet",
    "banding_net": "course.models.banding_net:BandingNet",
}


def build_model(architecture: str, config: dict) -> nn.Module:
    """A fresh model of a named architecture from its config (keyword arguments)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")
    model_class = ARCHITECTURES[architecture]
    if isinstance(model_class, str):
        module_name, class_name = model_class.split(":")
        model_class = getattr(importlib.import_module(module_name), class_name)
    return model_class(**config)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
