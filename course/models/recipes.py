"""The shipped models and how to train each one from scratch: one recipe per checkpoint.

A recipe names everything a training run depends on (architecture and config, data set
and data seed, epochs, learning rate, batch size, seed), so that

    python -m course train shapes_cnn

retrains the shipped model from nothing and compares its metrics with the shipped ones.
On the same machine and thread count the run repeats exactly; elsewhere floating-point
sums may be ordered differently, so metrics must agree within `TOLERANCE`.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field

import torch

from course.data.shapes import Shapes
from course.models.small_nets import build_model, parameter_count
from course.train import fit

TOLERANCE = 0.02  # largest accepted |retrained - shipped| test accuracy (2000 test images: 40 of them)
# One CPU thread: the same sums in the same order on any machine, and small nets on a busy
# machine train faster on one thread than on two that keep waiting for each other.
SHAPES_TRAINING = {"epochs": 10, "lr": 5e-3, "batch_size": 64, "optimizer": "adam", "seed": 0, "threads": 1}


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    architecture: str
    config: dict
    data: dict
    training: dict = field(default_factory=lambda: dict(SHAPES_TRAINING))
    # "module:function" that trains this recipe instead of the shapes classifier loop below:
    # function(recipe, progress=..., **overrides) -> (model in eval mode, metadata with metrics["test_accuracy"]).
    trainer: str | None = None


def _shapes_recipes():
    cnn = ("small_cnn", {"in_channels": 1, "channels": [8, 16, 32], "classes": 5, "image_size": 32, "kernel_size": 3})
    mlp = ("mlp", {"in_channels": 1, "hidden": [8], "classes": 5, "image_size": 32})
    for permutation_seed, suffix, how in ((None, "", ""), (1234, "_permuted", ", pixels in a fixed random order")):
        data = {"dataset": "shapes", "seed": 0, "n_train": 6000, "n_test": 2000, "permutation_seed": permutation_seed}
        yield Recipe(f"shapes_cnn{suffix}", f"3-block conv/ReLU/pool net on the shapes set{how}", *cnn, data)
        yield Recipe(f"shapes_mlp{suffix}", f"MLP with one hidden layer of 8, same size as the CNN{how}", *mlp, data)


# Modules that define more shipped models, each with a `recipes()` generator of Recipe.
RECIPE_MODULES = ("course.models.focus_net", "course.models.banding_net", "course.models.oriented_net")


def _all_recipes():
    yield from _shapes_recipes()
    for module_name in RECIPE_MODULES:
        yield from importlib.import_module(module_name).recipes()


RECIPES = {recipe.name: recipe for recipe in _all_recipes()}


def recipe_data(data: dict) -> tuple[Shapes, Shapes]:
    """The (train, test) data sets a recipe names."""
    if data["dataset"] != "shapes":
        raise ValueError(f"unknown data set {data['dataset']!r}")
    common = {"seed": data["seed"], "permutation_seed": data["permutation_seed"]}
    return Shapes("train", n=data["n_train"], **common), Shapes("test", n=data["n_test"], **common)


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


def train_recipe(recipe: Recipe, *, progress: bool = True, data=None, **overrides) -> tuple[torch.nn.Module, dict]:
    """Train a recipe's model from scratch; returns (model, metadata ready for save_checkpoint).

    overrides: replace training settings (e.g. epochs=1 for a quick try) or, as
    n_train / n_test, data sizes. `data`: an already generated (train, test) pair to reuse.
    """
    if recipe.trainer is not None:
        module_name, function_name = recipe.trainer.split(":")
        return getattr(importlib.import_module(module_name), function_name)(recipe, progress=progress, **overrides)
    training, data_spec = resolve_overrides(recipe, overrides)
    train, test = data if data is not None else recipe_data(data_spec)
    torch.manual_seed(training["seed"])  # the initial weights
    model = build_model(recipe.architecture, recipe.config)
    started = time.perf_counter()
    history = fit(model, train.tensors(), test.tensors(), epochs=training["epochs"], lr=training["lr"],
                  batch_size=training["batch_size"], optimizer=training["optimizer"], seed=training["seed"],
                  threads=training["threads"], device="cpu", progress=progress, description=recipe.name)
    metrics = history.last()
    metadata = recipe_metadata(recipe, model, data_spec, training, metrics,
                               {"test_accuracy": history.test_accuracy}, time.perf_counter() - started)
    return model.eval(), metadata
