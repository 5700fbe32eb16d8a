"""Checkpoints: round trip with metadata, and one clear sentence for every way loading can go wrong."""
import json
import warnings

import pytest
import torch

from course.models import (CHECKPOINT_DIR, CheckpointError, CheckpointVersionWarning, RECIPES, build_model,
                           load_checkpoint, load_shipped, save_checkpoint, shipped_checkpoints)

CONFIG = {"in_channels": 1, "channels": [2, 3], "classes": 5, "image_size": 8, "kernel_size": 3}


def metadata(**changes):
    return {"name": "tiny", "architecture": "small_cnn", "config": dict(CONFIG), "data": {"dataset": "shapes"},
            "training": {"epochs": 0}, "metrics": {"test_accuracy": 0.5}, **changes}


def saved(tmp_path, **changes):
    torch.manual_seed(0)
    model = build_model("small_cnn", CONFIG)
    save_checkpoint(model, metadata(**changes), tmp_path)
    return model


def test_round_trip_gives_the_same_weights_and_metadata(tmp_path):
    model = saved(tmp_path)
    loaded, meta = load_checkpoint("tiny", tmp_path, architecture="small_cnn", config=CONFIG)
    assert not loaded.training
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    assert meta["metrics"] == {"test_accuracy": 0.5} and meta["torch_version"] == str(torch.__version__)
    assert json.loads((tmp_path / "tiny.json").read_text()) == meta


def test_missing_file_names_the_path_what_exists_and_how_to_recreate_it(tmp_path):
    saved(tmp_path)
    with pytest.raises(CheckpointError, match=r"no checkpoint file .*other\.pt .*checkpoints there: tiny.*"
                                              r"python -m course train other"):
        load_checkpoint("other", tmp_path)


def test_renamed_file_is_refused(tmp_path):
    saved(tmp_path)
    (tmp_path / "tiny.pt").rename(tmp_path / "renamed.pt")
    with pytest.raises(CheckpointError, match="holds model 'tiny', not 'renamed'"):
        load_checkpoint("renamed", tmp_path)


def test_config_mismatch_names_the_entries_that_differ(tmp_path):
    saved(tmp_path)
    with pytest.raises(CheckpointError, match=r"another config \(channels: file has \[2, 3\], expected \[4, 3\]\)"):
        load_checkpoint("tiny", tmp_path, config={**CONFIG, "channels": [4, 3]})
    with pytest.raises(CheckpointError, match="is a 'small_cnn' model, expected 'mlp'"):
        load_checkpoint("tiny", tmp_path, architecture="mlp")


def test_weights_that_do_not_fit_the_config_are_refused(tmp_path):
    saved(tmp_path)
    content = torch.load(tmp_path / "tiny.pt", weights_only=True)
    content["metadata"]["config"]["channels"] = [4, 3]
    torch.save(content, tmp_path / "tiny.pt")
    with pytest.raises(CheckpointError, match="weights do not fit"):
        load_checkpoint("tiny", tmp_path)


def test_other_torch_version_is_a_warning_not_an_error(tmp_path):
    saved(tmp_path)
    content = torch.load(tmp_path / "tiny.pt", weights_only=True)
    content["metadata"]["torch_version"] = "1.0.0"
    torch.save(content, tmp_path / "tiny.pt")
    with pytest.warns(CheckpointVersionWarning, match="saved with torch 1.0.0"):
        model, meta = load_checkpoint("tiny", tmp_path)
    assert meta["torch_version"] == "1.0.0"


@pytest.mark.parametrize("content, says", [
    (b"not a torch file", "is not a readable checkpoint"),
    ({"state_dict": {}}, "is not a course checkpoint"),
    ({"metadata": {"name": "tiny"}, "state_dict": {}}, "metadata lacks architecture"),
])
def test_files_that_are_not_checkpoints_are_refused(tmp_path, content, says):
    path = tmp_path / "tiny.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(CheckpointError, match=says):
        load_checkpoint("tiny", tmp_path)


def test_every_recipe_has_a_small_shipped_checkpoint_that_loads_without_warnings():
    assert shipped_checkpoints() == sorted(RECIPES)
    for name in RECIPES:
        assert (CHECKPOINT_DIR / f"{name}.pt").stat().st_size < 100_000
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            model, meta = load_shipped(name)
        assert meta["data"] == RECIPES[name].data and meta["training"] == RECIPES[name].training
        assert json.loads((CHECKPOINT_DIR / f"{name}.json").read_text()) == meta


def test_unknown_shipped_model_names_the_known_ones():
    with pytest.raises(CheckpointError, match="unknown model 'nope'; shipped: shapes_cnn"):
        load_shipped("nope")
