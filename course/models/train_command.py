"""`python -m course train MODEL`: retrain a shipped model from scratch and compare with its checkpoint.

Exit status: 0 when every retrained model's test accuracy is within TOLERANCE of the
shipped one, 1 when one is not (or its checkpoint is missing or broken). Command-line
mistakes (an unknown model, no model named) raise ValueError, which the CLI turns into
one line and exit status 2.
"""
from __future__ import annotations

import time
from pathlib import Path

from course.models.checkpoints import CheckpointError, save_checkpoint
from course.models.recipes import TOLERANCE, train_recipe
from course.models.registry import RECIPES, load_checkpoint


def print_model_list() -> None:
    print(f"{'model':<22} {'parameters':>10} {'test accuracy':>14}  description")
    for name, recipe in RECIPES.items():
        try:
            metadata = load_checkpoint(name, architecture=recipe.architecture, config=recipe.config)[1]
            numbers = f"{metadata['parameters']:>10} {metadata['metrics']['test_accuracy']:>14.4f}"
        except CheckpointError as error:
            numbers = f"{'?':>10} {'missing':>14}"
            print(f"  ({error})")
        print(f"{name:<22} {numbers}  {recipe.description}")
    print(f"`python -m course train MODEL` retrains one from scratch (tolerance: test accuracy within {TOLERANCE}).")


def retrain(name: str, out: Path | None) -> bool:
    """Retrain one model, print retrained vs shipped metrics; True if within tolerance."""
    recipe = RECIPES[name]
    try:
        shipped = load_checkpoint(name, architecture=recipe.architecture, config=recipe.config)[1]
    except CheckpointError as error:
        print(f"{name}: {error}")
        shipped = None
    started = time.perf_counter()
    model, metadata = train_recipe(recipe)
    seconds = time.perf_counter() - started
    if out is not None:
        print(f"{name}: saved {save_checkpoint(model, metadata, out)}")
    new = metadata["metrics"]
    print(f"{name}: retrained from scratch in {seconds:.0f} s (data and {recipe.training['epochs']} epochs)")
    for key in ("train_accuracy", "test_accuracy", "test_loss"):
        before = f"{shipped['metrics'][key]:.4f}" if shipped else "-"
        print(f"    {key:<15} retrained {new[key]:.4f}   shipped {before}")
    if shipped is None:
        return False
    difference = abs(new["test_accuracy"] - shipped["metrics"]["test_accuracy"])
    ok = difference <= TOLERANCE
    print(f"    |test accuracy difference| = {difference:.4f} {'<=' if ok else '>'} {TOLERANCE}: "
          f"{'reproduced' if ok else 'NOT reproduced'}")
    return ok


def models_named(model: str | None) -> list[str]:
    """The recipes `model` names: one name, a family prefix ("banding" → every banding_*), or "all"."""
    families = sorted({name.split("_")[0] for name in RECIPES})
    if model is None:
        raise ValueError(f"name a model to retrain ({', '.join(RECIPES)}), a family ({', '.join(families)}), "
                         f"or all; or use --list")
    if model in RECIPES:
        return [model]
    names = [name for name in RECIPES if model == "all" or name.startswith(f"{model}_")]
    if not names:
        raise ValueError(f"unknown model {model!r}; valid: {', '.join(RECIPES)}, a family "
                         f"({', '.join(families)}), all")
    return names


def train_command(model: str | None, list_models: bool = False, out: Path | None = None) -> int:
    if list_models:
        print_model_list()
        return 0
    names = models_named(model)
    results = [retrain(name, out) for name in names]
    return 0 if all(results) else 1
