"""The small models the lessons train or load, and the shipped checkpoints with their recipes.

    from course.models import load_shipped
    model, metadata = load_shipped("shapes_cnn")     # weights + how they were made
    metadata["metrics"]["test_accuracy"]
"""
from course.models.checkpoints import (
    CHECKPOINT_DIR,
    CheckpointError,
    CheckpointVersionWarning,
    load_checkpoint,
    save_checkpoint,
    shipped_checkpoints,
)
from course.models.recipes import RECIPES, TOLERANCE, Recipe, recipe_data, train_recipe
from course.models.small_nets import MLP, SmallCNN, build_model, parameter_count


def load_shipped(name: str):
    """A shipped model by recipe name, checked against its recipe: (model in eval mode, metadata)."""
    if name not in RECIPES:
        raise CheckpointError(f"unknown model {name!r}; shipped: {', '.join(RECIPES)}")
    recipe = RECIPES[name]
    return load_checkpoint(name, architecture=recipe.architecture, config=recipe.config)


__all__ = [
    "CHECKPOINT_DIR", "CheckpointError", "CheckpointVersionWarning", "MLP", "RECIPES", "Recipe", "SmallCNN",
    "TOLERANCE", "build_model", "load_checkpoint", "load_shipped", "parameter_count", "recipe_data",
    "save_checkpoint", "shipped_checkpoints", "train_recipe",
]
