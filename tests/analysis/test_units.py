"""Units: "layer:channel" addressing, activations through hooks that never stay behind."""
from collections import OrderedDict

import pytest
import torch
from torch import nn

from course.analysis.units import layer_outputs, parse_unit, record_activations, unit_response


class Counter(nn.Module):
    """Identity that counts its calls (to see that the forward pass stops early)."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return x


def small_model():
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(3, 4, 3, padding=1), relu1=nn.ReLU(), conv2=nn.Conv2d(4, 6, 3, padding=1),
        relu2=nn.ReLU(), tail=Counter()))


def images(n=5, size=9):
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(1))


def hooks_left(model):
    return sum(len(m._forward_hooks) for m in model.modules())


def test_parse_unit_splits_layer_and_channel_and_rejects_other_strings():
    assert parse_unit("relu2:5") == ("relu2", 5)
    for bad in ("relu2", "relu2:", ":3", "relu2:x", "a:1:2", "relu2:-1", 5):
        with pytest.raises(ValueError, match="layer:channel"):
            parse_unit(bad)


def test_record_activations_equal_the_forward_pass_of_the_layers_so_far_and_leave_no_hook():
    model, x = small_model(), images()
    maps = record_activations(model, x, ["relu1", "relu2"], batch_size=2)  # 3 batches: 2, 2, 1
    # batches of 2 may add in another order than one batch of 5: float32 rounding only
    torch.testing.assert_close(maps["relu1"], model[:2](x), rtol=0, atol=1e-6)
    torch.testing.assert_close(maps["relu2"], model[:4](x), rtol=0, atol=1e-6)
    assert not maps["relu2"].requires_grad
    assert hooks_left(model) == 0
    assert model.tail.calls == 0  # stopped after relu2: the tail never ran


def test_hooks_are_removed_when_the_forward_pass_fails():
    model = small_model()
    with pytest.raises(RuntimeError):
        record_activations(model, torch.zeros(2, 5, 9, 9), ["relu2"])  # 5 channels into a 3-channel conv
    assert hooks_left(model) == 0


def test_unknown_layer_is_a_clear_error():
    with pytest.raises(ValueError, match="no layer named"):
        record_activations(small_model(), images(), ["conv9"])


def test_unit_response_reduces_the_channel_map_as_asked():
    model, x = small_model(), images()
    full = model[:4](x)[:, 5].detach()
    torch.testing.assert_close(unit_response(model, x, "relu2:5"), full[:, 4, 4])
    torch.testing.assert_close(unit_response(model, x, "relu2:5", reduce="max"), full.amax(dim=(1, 2)))
    torch.testing.assert_close(unit_response(model, x, "relu2:5", reduce="mean"), full.mean(dim=(1, 2)))
    with pytest.raises(ValueError, match="out of range"):
        unit_response(model, x, "relu2:6")
    with pytest.raises(ValueError, match="reduce"):
        unit_response(model, x, "relu2:0", reduce="median")


def test_training_mode_is_restored_and_layer_outputs_keep_gradients():
    model = small_model().train()
    record_activations(model, images(), ["relu1"])
    assert model.training
    x = images().requires_grad_()
    out = layer_outputs(model, x, ["conv2"])["conv2"]
    out[:, 0].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and hooks_left(model) == 0
