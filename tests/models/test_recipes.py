"""Recipes train their model from scratch, deterministically, and describe the run in metadata."""
import pytest
import torch

from course.data.shapes import Shapes
from course.models import RECIPES, TOLERANCE, load_shipped, parameter_count, train_recipe
from course.models.small_nets import MLP, SmallCNN, train_shapes_classifier
from course.runtime.train import evaluate

TINY = {"epochs": 1, "n_train": 300, "n_test": 100}


def test_the_cnn_and_the_mlp_have_about_the_same_number_of_weights():
    cnn, mlp = SmallCNN(), MLP()
    assert abs(parameter_count(cnn) - parameter_count(mlp)) / parameter_count(cnn) < 0.05
    assert cnn(torch.zeros(2, 1, 32, 32)).shape == mlp(torch.zeros(2, 1, 32, 32)).shape == (2, 5)


def test_a_tiny_run_is_deterministic_and_records_what_produced_it():
    (model_a, meta_a), (model_b, meta_b) = [train_recipe(RECIPES["shapes_cnn"], progress=False, **TINY)
                                            for _ in range(2)]
    assert meta_a["metrics"] == meta_b["metrics"]
    for key, value in model_a.state_dict().items():
        assert torch.equal(value, model_b.state_dict()[key])
    assert meta_a["data"]["n_train"] == 300 and meta_a["training"]["epochs"] == 1
    assert meta_a["parameters"] == parameter_count(model_a)
    assert set(meta_a["metrics"]) == {"train_loss", "train_accuracy", "test_loss", "test_accuracy"}


def test_unknown_overrides_are_refused():
    with pytest.raises(ValueError, match="unknown overrides \\['epoch'\\]"):
        train_recipe(RECIPES["shapes_mlp"], epoch=1)


def test_shipped_metrics_are_what_the_checkpoints_score_on_their_test_sets():
    for name, recipe in RECIPES.items():
        if recipe.trainer is not train_shapes_classifier:  # not a shapes classifier: its own module tests its checkpoints
            continue
        model, meta = load_shipped(name)
        test = Shapes("test", n=recipe.data["n_test"], seed=recipe.data["seed"],
                      permutation_seed=recipe.data["permutation_seed"])
        accuracy = evaluate(model, test.tensors())[1]
        assert abs(accuracy - meta["metrics"]["test_accuracy"]) <= 0.001, name


@pytest.mark.slow
def test_retraining_the_shipped_mlp_reproduces_its_metrics():
    # The MLP's full recipe takes a few seconds; the CNN's (about a minute) is reproduced by
    # the lesson's full run and by `python -m course train shapes_cnn`.
    model, meta = train_recipe(RECIPES["shapes_mlp"], progress=False)
    shipped = load_shipped("shapes_mlp")[1]["metrics"]
    assert abs(meta["metrics"]["test_accuracy"] - shipped["test_accuracy"]) <= TOLERANCE
