"""The small models the lessons train or load, and the shipped checkpoints with their recipes.

    from course.models import load_shipped
    model, metadata = load_shipped("shapes_cnn")     # weights + how they were made
    metadata["metrics"]["test_accuracy"]

Each model module (`small_nets`, `focus_net`, `oriented_net`, `banding_net`) holds its model and
its recipes; `registry` collects them; `checkpoints` reads and writes the files.
"""
from course.models.checkpoints import (
    CHECKPOINT_DIR,
    CheckpointError,
    CheckpointVersionWarning,
    save_checkpoint,
    shipped_checkpoints,
)
from course.models.recipes import TOLERANCE, Recipe, parameter_count, train_recipe
from course.models.registry import ARCHITECTURES, RECIPES, build_model, load_checkpoint, load_shipped
from course.models.small_nets import MLP, SmallCNN, shapes_data

__all__ = [
    "ARCHITECTURES", "CHECKPOINT_DIR", "CheckpointError", "CheckpointVersionWarning", "MLP", "RECIPES", "Recipe",
    "SmallCNN", "TOLERANCE", "build_model", "load_checkpoint", "load_shipped", "parameter_count", "save_checkpoint",
    "shapes_data", "shipped_checkpoints", "train_recipe",
]
