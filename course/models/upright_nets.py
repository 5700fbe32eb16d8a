"""Lesson 07's two shapes classifiers trained on upright shapes only: a p4 G-CNN and a plain CNN.

The architectures are the lesson's own (`course.chapters.group_convolution.P4GCNN` and
`PlainCNN`, about 2.7k weights each); this module holds their recipes and the function that
trains them, so that

    python -m course train upright          # both: upright_cnn and upright_gcnn

retrains the shipped checkpoints from scratch. Both see the same ~6000 training images, the
shapes drawn within ±22.5° of their reference pose (modulo 180°), for 15 epochs: long enough
for both to converge on upright test images (the plain CNN reaches about 99%), so that the
lesson's comparison under rotation is between two finished models, not a fast and a slow learner.

The G-CNN's layers call `kernels`, whose import is heavy (torch.compile machinery); the builders
below import the chapter only when a model is built, so `import course.models` stays light.
"""
from __future__ import annotations

import time

import torch
from torch import nn

from course.models.recipes import Recipe, recipe_metadata, resolve_overrides
from course.models.small_nets import shapes_data
from course.runtime.train import evaluate, fit


def p4_gcnn(**config) -> nn.Module:
    """A fresh `P4GCNN(**config)` (lesson 07's G-CNN)."""
    from course.chapters.group_convolution import P4GCNN  # kernels is heavy: imported when a G-CNN is built

    return P4GCNN(**config)


def plain_cnn(**config) -> nn.Module:
    """A fresh `PlainCNN(**config)` (lesson 07's CNN of the same layout and size)."""
    from course.chapters.group_convolution import PlainCNN

    return PlainCNN(**config)


ARCHITECTURES = {"p4_gcnn": p4_gcnn, "plain_cnn": plain_cnn}

UPRIGHT_DATA = {"dataset": "shapes", "seed": 0, "n_train": 24000, "n_test": 4000, "permutation_seed": None,
                "upright_half_width_deg": 22.5}
UPRIGHT_TRAINING = {"epochs": 15, "lr": 1e-2, "batch_size": 64, "optimizer": "adam", "seed": 0, "threads": 1}


def recipes():
    """The upright-trained pair of lesson 07."""
    yield Recipe("upright_cnn", "plain CNN trained on upright shapes only (lesson 07)", "plain_cnn",
                 {"channels": [8, 12, 16], "classes": 5, "in_channels": 1}, dict(UPRIGHT_DATA),
                 dict(UPRIGHT_TRAINING), train_upright_classifier)
    yield Recipe("upright_gcnn", "p4 G-CNN of the same size trained on upright shapes only (lesson 07)", "p4_gcnn",
                 {"channels": [4, 6, 8], "classes": 5, "in_channels": 1}, dict(UPRIGHT_DATA),
                 dict(UPRIGHT_TRAINING), train_upright_classifier)


def upright_data(data: dict) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """((x, y) train, (x, y) test): the recipe's shapes sets, upright images only."""
    from course.chapters.group_convolution import upright_mask

    train, test = shapes_data(data)
    keep, keep_test = (upright_mask(s.angles, data["upright_half_width_deg"]) for s in (train, test))
    return (train.images[keep], train.labels[keep]), (test.images[keep_test], test.labels[keep_test])


def rotated_test_accuracies(model: nn.Module, test: tuple[torch.Tensor, torch.Tensor], seed: int) -> dict:
    """Accuracy on the upright test images, turned by random quarter turns, and by random angles."""
    from course.chapters.group_convolution import randomly_rotated

    x, y = test
    return {"test_accuracy": evaluate(model, (x, y))[1],
            "test_accuracy_quarter_turns": evaluate(model, (randomly_rotated(x, seed, True), y))[1],
            "test_accuracy_any_angle": evaluate(model, (randomly_rotated(x, seed, False), y))[1]}


def train_upright_classifier(recipe: Recipe, *, progress: bool = True, data=None,
                             **overrides) -> tuple[nn.Module, dict]:
    """Train an upright recipe's model from scratch: (model in eval mode, metadata for save_checkpoint).

    overrides: training settings (epochs=1 for a quick try) or data sizes (n_train, n_test).
    `data`: an already made ((x, y) train, (x, y) test) pair to reuse. Metrics: train and
    upright test accuracy, and the test accuracy with the images turned (quarter turns, any angle).
    """
    training, data_spec = resolve_overrides(recipe, overrides)
    train, test = data if data is not None else upright_data(data_spec)
    torch.manual_seed(training["seed"])  # the initial weights
    model = ARCHITECTURES[recipe.architecture](**recipe.config)
    started = time.perf_counter()
    history = fit(model, train, test, epochs=training["epochs"], lr=training["lr"],
                  batch_size=training["batch_size"], optimizer=training["optimizer"], seed=training["seed"],
                  threads=training["threads"], device="cpu", progress=progress, description=recipe.name)
    metrics = {**history.last(), **rotated_test_accuracies(model, test, data_spec["seed"]),
               "train_images": len(train[1]), "test_images": len(test[1])}
    metadata = recipe_metadata(recipe, model, data_spec, training, metrics,
                               {"test_accuracy": history.test_accuracy}, time.perf_counter() - started)
    return model.eval(), metadata
