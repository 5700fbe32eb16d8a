"""Every shipped model in one place: architectures and recipes by name, and loading a checkpoint.

Each model module declares its architecture and, beside it, its recipes and the function that
trains them. This module imports those modules explicitly (no module named in a string), so the
imports run one way only:

    recipes.py (the Recipe record)  <-  small_nets, focus_net, oriented_net, banding_net, upright_nets
                                    <-  registry

A new model: write its module with `recipes()`, then add it to ARCHITECTURES and RECIPE_MODULES.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from course.models import banding_net, focus_net, oriented_net, small_nets, upright_nets
from course.models.checkpoints import CheckpointError, checked_checkpoint, load_weights

ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {  # classes, or functions that build one
    **small_nets.ARCHITECTURES,
    "focus_net": focus_net.FocusNet,
    "oriented_net": oriented_net.OrientedNet,
    "banding_net": banding_net.BandingNet,
    **upright_nets.ARCHITECTURES,
}
# in the order `train --list` shows them
RECIPE_MODULES = (small_nets, focus_net, banding_net, oriented_net, upright_nets)
RECIPES = {recipe.name: recipe for module in RECIPE_MODULES for recipe in module.recipes()}


def build_model(architecture: str, config: dict) -> nn.Module:
    """A fresh model of a named architecture from its config (keyword arguments)."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[architecture](**config)


def load_checkpoint(name: str, folder: Path | None = None, *, architecture: str | None = None,
                    config: dict | None = None) -> tuple[nn.Module, dict]:
    """Rebuild a saved model in evaluation mode: returns (model, metadata).

    name: the checkpoint's name (file <folder>/<name>.pt). If `architecture` or `config` is
    given, the checkpoint must have been made with exactly those, or CheckpointError says
    which entries differ. A different torch version gives a CheckpointVersionWarning.
    """
    content, path = checked_checkpoint(name, folder, architecture=architecture, config=config)
    metadata = content["metadata"]
    return load_weights(build_model(metadata["architecture"], metadata["config"]), content, path)


def load_shipped(name: str) -> tuple[nn.Module, dict]:
    """A shipped model by recipe name, checked against its recipe: (model in eval mode, metadata)."""
    if name not in RECIPES:
        raise CheckpointError(f"unknown model {name!r}; shipped: {', '.join(RECIPES)}")
    recipe = RECIPES[name]
    return load_checkpoint(name, architecture=recipe.architecture, config=recipe.config)
