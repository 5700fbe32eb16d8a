"""OrientedNet: the layout the analysis tools rely on, a quick deterministic recipe run, and the shipped model."""
import pytest
import torch

from course.analysis.families import find_families, transform_selectivity
from course.data.edge_orientations import edge_orientation_data
from course.models import RECIPES, load_shipped, train_recipe
from course.models.oriented_net import BINS, OrientedNet, majority_baseline, pixel_accuracy

TINY = {"epochs": 1, "n_train": 96, "n_test": 32}


def test_children_are_named_in_order_and_the_output_is_one_score_per_label_and_pixel():
    model = OrientedNet()
    assert [name for name, _ in model.named_children()] == ["centre", "conv1", "relu1", "conv2", "relu2", "head"]
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, BINS + 1, 32, 32)


def test_pixel_accuracy_and_majority_baseline_on_known_answers():
    class AlwaysFlat(torch.nn.Module):
        def forward(self, x):
            logits = torch.zeros(len(x), BINS + 1, 2, 2)
            logits[:, BINS] = 1.0
            return logits

    labels = torch.tensor([[[BINS, BINS], [BINS, 3]]])
    assert pixel_accuracy(AlwaysFlat(), torch.zeros(1, 3, 2, 2), labels) == 0.75
    assert pixel_accuracy(AlwaysFlat(), torch.zeros(1, 3, 2, 2), labels, edges_only=True) == 0.0
    assert majority_baseline(labels) == 0.75


def test_a_tiny_recipe_run_is_deterministic_and_records_pixel_metrics():
    recipe = RECIPES["oriented_net"]
    (model_a, meta_a), (model_b, meta_b) = [train_recipe(recipe, progress=False, **TINY) for _ in range(2)]
    assert meta_a["metrics"] == meta_b["metrics"]
    for key, value in model_a.state_dict().items():
        assert torch.equal(value, model_b.state_dict()[key])
    assert {"test_accuracy", "test_edge_accuracy", "test_majority_baseline"} <= set(meta_a["metrics"])
    assert meta_a["data"]["n_train"] == 96 and meta_a["training"]["epochs"] == 1


def test_unknown_overrides_are_refused():
    with pytest.raises(ValueError, match="unknown overrides"):
        train_recipe(RECIPES["oriented_net"], epoch=1)


def test_shipped_model_beats_the_majority_label_and_has_rotation_families_in_conv1():
    model, meta = load_shipped("oriented_net")
    images, labels = edge_orientation_data(300, seed=meta["data"]["test_seed"])  # its test distribution
    assert pixel_accuracy(model, images, labels) > majority_baseline(labels) + 0.1
    assert pixel_accuracy(model, images, labels, edges_only=True) > 0.3  # guessing a direction: 1/8
    w = model.conv1.weight.detach()
    oriented = [u for u, s in enumerate(transform_selectivity(w, "rotation")) if s >= 0.5]  # no spots or flat patches
    families = find_families(w[oriented], "rotation", threshold=0.75, step=2.0, units=oriented)
    assert max(len(f["units"]) for f in families) >= 3  # every member matching every other (lesson 08)
