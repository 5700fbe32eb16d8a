"""The shipped models and how to train each one from scratch: one recipe per checkpoint.

A recipe names everything a training run depends on (architecture and config, data set
and data seed, epochs, learning rate, batch size, seed), so that

    python -m course train shapes_cnn

retrains the shipped model from nothing and compares its metrics with the shipped ones.
On the same machine and thread count the run repeats exactly; elsewhere floating-point
sums may be ordered differently, so metrics must agree within `TOLERANCE`.

This module is only the record and what every trainer shares; each model module declares its
own recipes beside the model (`small_nets.recipes()`, `focus_net.recipes()`, ...) and
`course.models.registry` collects them by importing those modules explicitly.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

TOLERANCE = 0.02  # largest accepted |retrained - shipped| test accuracy (2000 test images: 40 of them)


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    architecture: str  # a key of course.models.registry.ARCHITECTURES, recorded in the checkpoint
    config: dict
    data: dict
    training: dict
    # trainer(recipe, progress=..., **overrides) -> (model in eval mode, metadata with metrics["test_accuracy"]);
    # the function that trains this kind of model, defined beside it.
    trainer: Callable[..., tuple[torch.nn.Module, dict]]


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def resolve_overrides(recipe: Recipe, overrides: dict) -> tuple[dict, dict]:
    """(training settings, data spec) of a recipe with overrides applied; unknown overrides are refused.

    overrides: training settings (epochs=1 for a quick try, lr, ...) or data sizes n_train, n_test.
    """
    training = {**recipe.training, **{k: v for k, v in overrides.items() if k in recipe.training}}
    sizes = {k: v for k, v in overrides.items() if k in ("n_train", "n_test")}
    unknown = set(overrides) - set(training) - set(sizes)
    if unknown:
        raise ValueError(f"unknown overrides {sorted(unknown)}; known: {sorted(training)} and n_train, n_test")
    return training, {**recipe.data, **sizes}


def recipe_metadata(recipe: Recipe, model, data: dict, training: dict, metrics: dict, history: dict,
                    seconds: float) -> dict:
    """The metadata save_checkpoint stores with a model trained from `recipe` (numbers rounded for reading)."""
    return {
        "name": recipe.name, "description": recipe.description, "architecture": recipe.architecture,
        "config": recipe.config, "data": data, "training": training,
        "metrics": {key: round(value, 6) for key, value in metrics.items()},
        "history": {key: [round(v, 6) for v in values] for key, values in history.items()},
        "parameters": parameter_count(model), "seconds": round(seconds, 1),
    }


def train_recipe(recipe: Recipe, *, progress: bool = True, **overrides) -> tuple[torch.nn.Module, dict]:
    """Train a recipe's model from scratch; returns (model, metadata ready for save_checkpoint).

    overrides: replace training settings (e.g. epochs=1 for a quick try) or, as
    n_train / n_test, data sizes.
    """
    return recipe.trainer(recipe, progress=progress, **overrides)
