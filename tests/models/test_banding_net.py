"""BandingNet: the three heads, L2 pooling, the named layers the analysis reads, and the recipes."""
import pytest
import torch

from course.models.banding_net import AveragePool, BandingNet, L2Pool, SEEDS, VARIANTS, recipes, train_banding


@pytest.mark.parametrize("head, features", [("gap", 24), ("flatten", 24 * 8 * 8), ("avg_x", 24 * 8)])
def test_every_head_classifies_32x32_scenes_and_feeds_the_classifier_what_it_says(head, features):
    model = BandingNet(head=head)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 4)
    assert model.fc.in_features == features
    assert model.last_conv is model.conv3b


def test_layers_are_named_in_order_for_the_analysis_tools():
    names = [name for name, _ in BandingNet().named_children()]
    assert names[:4] == ["conv1a", "bn1a", "relu1a", "pool1"]
    assert names[-5:] == ["conv3b", "bn3b", "relu3b", "head", "fc"]


def test_l2_pool_is_the_root_mean_square_of_each_window():
    x = torch.tensor([[[[3.0, 4.0], [0.0, 0.0]]]])
    torch.testing.assert_close(L2Pool(2, eps=0.0)(x), torch.tensor([[[[2.5]]]]))  # sqrt((9 + 16) / 4), exact
    y = torch.randn(2, 3, 8, 8)
    manual = y.pow(2).unfold(2, 2, 2).unfold(3, 2, 2).mean(dim=(-2, -1)).sqrt()
    torch.testing.assert_close(L2Pool(2, eps=0.0)(y), manual, rtol=1e-6, atol=1e-6)  # float32 sums


def test_average_along_x_keeps_height_and_gap_keeps_nothing():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    torch.testing.assert_close(AveragePool("x")(x), x.mean(dim=3).flatten(1))
    torch.testing.assert_close(AveragePool("xy")(x), x.mean(dim=(2, 3)))


def test_bad_configs_are_refused():
    with pytest.raises(ValueError, match="head must be one of"):
        BandingNet(head="max")
    with pytest.raises(ValueError, match="over must be"):
        AveragePool("y")


def test_recipes_cover_every_variant_and_seed_and_rotate_only_the_rotated_data():
    all_recipes = {recipe.name: recipe for recipe in recipes()}
    assert len(all_recipes) == len(VARIANTS) * len(SEEDS) >= 12
    for variant, (head, rotated, task) in VARIANTS.items():
        for seed in SEEDS:
            recipe = all_recipes[f"banding_{variant}_s{seed}"]
            assert recipe.config["head"] == head and recipe.data["rotated"] == rotated
            assert recipe.data.get("task", "shape_and_height") == task
            assert recipe.config["classes"] == (4 if task == "shape_and_height" else 2)
            assert recipe.training["seed"] == seed and recipe.architecture == "banding_net"


def test_a_tiny_training_run_is_deterministic():
    recipe = next(iter(recipes()))
    (a, meta_a), (b, meta_b) = [train_banding(recipe, progress=False, epochs=1, n_train=128, n_test=64)
                                for _ in range(2)]
    assert meta_a["metrics"] == meta_b["metrics"] and meta_a["data"]["n_train"] == 128
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    with pytest.raises(ValueError, match="unknown overrides"):
        train_banding(recipe, progress=False, epoch=1)


def test_shipped_checkpoints_score_their_recorded_test_accuracy():
    from course.models import load_shipped
    from course.models.banding_net import banding_data
    from course.runtime.train import evaluate

    for recipe in recipes():
        model, metadata = load_shipped(recipe.name)
        _, test = banding_data(recipe.data, n_train=8)  # the test scenes do not depend on n_train
        assert abs(evaluate(model, test)[1] - metadata["metrics"]["test_accuracy"]) <= 0.001, recipe.name
