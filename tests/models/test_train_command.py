"""`python -m course train`: the listing, clear usage errors, and the retrain-and-compare report."""
import dataclasses

import pytest

from course.__main__ import main
from course.models import RECIPES, checkpoints, save_checkpoint, train_command, train_recipe


def test_list_shows_every_shipped_model_with_its_accuracy(capsys):
    assert main(["train", "--list"]) == 0
    out = capsys.readouterr().out
    for name in RECIPES:
        assert name in out
    assert "missing" not in out and "tolerance" in out


@pytest.mark.parametrize("args, says", [
    (["train", "nope"], "unknown model 'nope'; valid: shapes_cnn"),
    (["train"], "name a model to retrain"),
])
def test_bad_model_gives_one_line_and_exit_status_2(args, says, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


@pytest.fixture
def tiny_recipe(tmp_path, monkeypatch):
    """A one-epoch MLP recipe named 'tiny', with its 'shipped' checkpoint in a temporary folder."""
    tiny = dataclasses.replace(RECIPES["shapes_mlp"], name="tiny",
                               data={**RECIPES["shapes_mlp"].data, "n_train": 200, "n_test": 100},
                               training={**RECIPES["shapes_mlp"].training, "epochs": 1})
    monkeypatch.setitem(train_command.RECIPES, "tiny", tiny)
    monkeypatch.setattr(checkpoints, "CHECKPOINT_DIR", tmp_path)
    model, metadata = train_recipe(tiny, progress=False)
    save_checkpoint(model, metadata, tmp_path)
    return tmp_path, metadata


def test_retraining_reproduces_the_shipped_metrics_and_says_so(tiny_recipe, capsys):
    assert main(["train", "tiny"]) == 0
    out = capsys.readouterr().out
    accuracy = tiny_recipe[1]["metrics"]["test_accuracy"]
    assert f"test_accuracy   retrained {accuracy:.4f}   shipped {accuracy:.4f}" in out
    assert "|test accuracy difference| = 0.0000 <= 0.02: reproduced" in out


def test_a_shipped_metric_that_is_not_reproduced_fails_with_status_1(tiny_recipe, capsys):
    folder, metadata = tiny_recipe
    model, _ = train_recipe(train_command.RECIPES["tiny"], progress=False)
    save_checkpoint(model, {**metadata, "metrics": {**metadata["metrics"], "test_accuracy": 0.0}}, folder)
    assert main(["train", "tiny"]) == 1
    assert "NOT reproduced" in capsys.readouterr().out


def test_out_saves_the_retrained_checkpoint(tiny_recipe, tmp_path_factory, capsys):
    out = tmp_path_factory.mktemp("retrained")
    assert main(["train", "tiny", "--out", str(out)]) == 0
    assert (out / "tiny.pt").is_file() and (out / "tiny.json").is_file()


def test_a_family_name_selects_every_model_of_that_family():
    assert train_command.models_named("banding") == [name for name in RECIPES if name.startswith("banding_")]
    assert len(train_command.models_named("banding")) == 15
    assert train_command.models_named("shapes_cnn") == ["shapes_cnn"]
    assert train_command.models_named("all") == list(RECIPES)
