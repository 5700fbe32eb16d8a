"""Saving and loading small trained models together with what produced them.

A checkpoint is one `.pt` file holding {"metadata": ..., "state_dict": ...}, plus a `.json`
copy of the metadata next to it for people to read. The metadata says which model it is
(name, architecture, config), which data trained it (data set, seed), how (epochs, lr,
seed), how well it did (metrics) and under which torch version.

Loading checks all of that and says what is wrong in one sentence: a missing file, a file
that is not a course checkpoint, a different model or config than the one asked for, or
weights that do not fit the model. A different torch version is only a warning: the
weights are plain tensors and load fine, but retrained numbers may differ slightly.

Rebuilding the model needs its architecture, so `load_checkpoint` lives in `course.models.registry`;
this module checks the file (`checked_checkpoint`) and pours the weights in (`load_weights`).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
FORMAT = 1
REQUIRED_KEYS = ("name", "architecture", "config", "data", "training", "metrics", "torch_version")


class CheckpointError(Exception):
    """A checkpoint is missing, unreadable, or not the model it was asked to be."""


class CheckpointVersionWarning(UserWarning):
    """The checkpoint was written by another torch version (it still loads)."""


def checkpoint_path(name: str, folder: Path | None = None) -> Path:
    return Path(folder or CHECKPOINT_DIR) / f"{name}.pt"


def shipped_checkpoints(folder: Path | None = None) -> list[str]:
    """Names of the checkpoints in a folder (default: the ones shipped with the course)."""
    return sorted(path.stem for path in Path(folder or CHECKPOINT_DIR).glob("*.pt"))


def save_checkpoint(model: torch.nn.Module, metadata: dict, folder: Path | None = None) -> Path:
    """Write <folder>/<name>.pt (weights + metadata) and <name>.json (the metadata, readable)."""
    missing = [key for key in REQUIRED_KEYS if key not in metadata and key != "torch_version"]
    if missing:
        raise ValueError(f"checkpoint metadata lacks {', '.join(missing)}")
    metadata = {"format": FORMAT, **metadata, "torch_version": str(torch.__version__)}
    path = checkpoint_path(metadata["name"], folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}
    torch.save({"metadata": metadata, "state_dict": state}, path)
    path.with_suffix(".json").write_text(json.dumps(metadata, indent=2) + "\n")
    return path


def read_checkpoint(path: Path) -> dict:
    """The raw {"metadata", "state_dict"} of a checkpoint file, with clear errors."""
    path = Path(path)
    if not path.is_file():
        known = ", ".join(shipped_checkpoints(path.parent)) if path.parent.is_dir() else "none"
        raise CheckpointError(f"no checkpoint file {path} (checkpoints there: {known or 'none'}); "
                              f"`python -m course train {path.stem} --out {path.parent}` recreates it")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a truncated file, a pickle of something else, not a torch file at all
        raise CheckpointError(f"{path} is not a readable checkpoint: {type(error).__name__}: "
                              f"{str(error).splitlines()[0] if str(error) else ''}") from None
    if not isinstance(content, dict) or not {"metadata", "state_dict"} <= set(content):
        raise CheckpointError(f"{path} is not a course checkpoint: expected a dict with 'metadata' and 'state_dict'")
    missing = [key for key in REQUIRED_KEYS if key not in content["metadata"]]
    if missing:
        raise CheckpointError(f"{path}: metadata lacks {', '.join(missing)}")
    return content


def checked_checkpoint(name: str, folder: Path | None = None, *, architecture: str | None = None,
                       config: dict | None = None) -> tuple[dict, Path]:
    """The checkpoint <folder>/<name>.pt as (content, path), checked to be the model asked for.

    If `architecture` or `config` is given, the checkpoint must have been made with exactly
    those, or CheckpointError says which entries differ. A different torch version gives a
    CheckpointVersionWarning.
    """
    path = checkpoint_path(name, folder)
    content = read_checkpoint(path)
    metadata = content["metadata"]
    if metadata["name"] != name:
        raise CheckpointError(f"{path} holds model {metadata['name']!r}, not {name!r} (renamed file?)")
    if architecture is not None and metadata["architecture"] != architecture:
        raise CheckpointError(f"{path} is a {metadata['architecture']!r} model, expected {architecture!r}")
    if config is not None and metadata["config"] != config:
        different = sorted(key for key in set(config) | set(metadata["config"])
                           if config.get(key) != metadata["config"].get(key))
        detail = "; ".join(f"{key}: file has {metadata['config'].get(key)!r}, expected {config.get(key)!r}"
                           for key in different)
        raise CheckpointError(f"{path} was made with another config ({detail})")
    if metadata["torch_version"] != str(torch.__version__):
        warnings.warn(f"{path} was saved with torch {metadata['torch_version']}, this is torch "
                      f"{torch.__version__}: it loads, but retrained metrics may differ slightly",
                      CheckpointVersionWarning, stacklevel=3)
    return content, path


def load_weights(model: torch.nn.Module, content: dict, path: Path) -> tuple[torch.nn.Module, dict]:
    """Put a checked checkpoint's weights into a freshly built model: (model in eval mode, metadata)."""
    metadata = content["metadata"]
    try:
        model.load_state_dict(content["state_dict"])
    except RuntimeError as error:
        raise CheckpointError(f"{path}: the weights do not fit a {metadata['architecture']} with config "
                              f"{metadata['config']}: {str(error).splitlines()[-1].strip()}") from None
    return model.eval(), metadata
