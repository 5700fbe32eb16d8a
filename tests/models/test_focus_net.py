"""FocusNet: the layout the analysis tools rely on, a quick deterministic recipe run, and the shipped model."""
import pytest
import torch

from course.models import RECIPES, load_shipped, train_recipe
from course.models.focus_net import FocusNet, focus_data, majority_baseline, pixel_accuracy

TINY = {"epochs": 1, "n_train": 128, "n_test": 64}


def test_children_are_named_in_order_and_the_output_is_one_logit_per_pixel():
    model = FocusNet()
    assert [name for name, _ in model.named_children()] == [
        "conv1", "relu1", "conv2", "relu2", "pool2", "bottleneck", "relu_b", "conv3", "relu3", "head", "upsample"]
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 1, 32, 32)


def test_focus_targets_are_zero_one_masks_of_the_image_size():
    images, targets = focus_data(8, seed=0)
    assert images.shape == (8, 3, 32, 32) and targets.shape == (8, 1, 32, 32)
    assert set(targets.unique().tolist()) <= {0.0, 1.0}


def test_pixel_accuracy_and_majority_baseline_on_known_answers():
    class Constant(torch.nn.Module):
        def forward(self, x):
            return torch.ones(len(x), 1, 2, 2)  # "in focus" everywhere

    targets = torch.tensor([[[[1.0, 1.0], [1.0, 0.0]]]])
    assert pixel_accuracy(Constant(), torch.zeros(1, 3, 2, 2), targets) == 0.75
    assert majority_baseline(targets) == 0.75 and majority_baseline(1 - targets) == 0.75


def test_a_tiny_recipe_run_is_deterministic_and_records_pixel_metrics():
    recipe = RECIPES["focus_net"]
    (model_a, meta_a), (model_b, meta_b) = [train_recipe(recipe, progress=False, **TINY) for _ in range(2)]
    assert meta_a["metrics"] == meta_b["metrics"]
    for key, value in model_a.state_dict().items():
        assert torch.equal(value, model_b.state_dict()[key])
    assert {"test_accuracy", "train_accuracy", "test_majority_baseline"} <= set(meta_a["metrics"])
    assert meta_a["data"]["n_train"] == 128 and meta_a["training"]["epochs"] == 1


def test_unknown_overrides_are_refused():
    with pytest.raises(ValueError, match="unknown overrides"):
        train_recipe(RECIPES["focus_net"], epoch=1)


def test_shipped_model_beats_always_guessing_the_majority_label():
    model, meta = load_shipped("focus_net")
    images, targets = focus_data(500, seed=meta["data"]["test_seed"])  # 500 images of its test distribution
    accuracy = pixel_accuracy(model, images, targets)
    assert accuracy > majority_baseline(targets) + 0.05
    assert meta["metrics"]["test_accuracy"] > meta["metrics"]["test_majority_baseline"] + 0.05
