"""Expanded weights equal the explicit product of the kernels for linear stacks."""
from collections import OrderedDict

import pytest
import torch
from torch import nn

from course.analysis.expanded_weights import expanded_weights


def conv(c_in, c_out, k, seed, bias=False):
    layer = nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=bias)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=g))
        if bias:
            layer.bias.copy_(torch.randn(c_out, generator=g))
    return layer


def composed(w_upper, w_lower, stride=1, pool=None):
    """The explicit product: y = w_upper ⋆ pool(w_lower ⋆ x) as one kernel, by summing over taps.

    With cross-correlations, tap q of the upper kernel and tap r of the lower one both read
    input offset stride·q + t + r (t the offset inside the pool window, weight 1/pool²).
    """
    pool = pool or 1
    c_out, _, k_up, _ = w_upper.shape
    _, c_in, k_low, _ = w_lower.shape
    size = stride * (k_up - 1) + (pool - 1) + k_low
    E = torch.zeros(c_out, c_in, size, size, dtype=torch.float64)
    for qy in range(k_up):
        for qx in range(k_up):
            for ty in range(pool):
                for tx in range(pool):
                    for ry in range(k_low):
                        for rx in range(k_low):
                            y, x = stride * qy + ty + ry, stride * qx + tx + rx
                            E[:, :, y, x] += (w_upper[:, :, qy, qx].double() @ w_lower[:, :, ry, rx].double()) / pool**2
    return E.float()


def test_two_linear_convolutions_expand_to_the_explicit_product():
    model = nn.Sequential(OrderedDict(conv1=conv(3, 4, 3, 0), conv2=conv(4, 5, 3, 1)))
    E = expanded_weights(model, None, "conv2", input_size=16)
    expected = composed(model.conv2.weight.detach(), model.conv1.weight.detach())
    # float64 autograd against a float64 sum of products: both exact up to rounding
    torch.testing.assert_close(E, expected, rtol=1e-5, atol=1e-5)
    assert E.shape == (5, 3, 5, 5)


def test_relus_and_biases_are_ignored_and_a_bottleneck_composes_with_the_next_conv():
    model = nn.Sequential(OrderedDict(
        conv1=conv(3, 8, 3, 0, bias=True), relu1=nn.ReLU(), bottleneck=conv(8, 2, 1, 1, bias=True),
        relu_b=nn.ReLU(), conv3=conv(2, 6, 3, 2, bias=True), relu3=nn.ReLU()))
    E = expanded_weights(model, "relu1", "relu3", input_size=16)
    expected = composed(model.conv3.weight.detach(), model.bottleneck.weight.detach())
    torch.testing.assert_close(E, expected, rtol=1e-5, atol=1e-5)
    assert E.shape == (6, 8, 3, 3)  # a 1×1 bottleneck does not widen the receptive field


def test_a_max_pool_becomes_an_average_pool():
    model = nn.Sequential(OrderedDict(
        conv1=conv(2, 3, 3, 0), relu1=nn.ReLU(), pool=nn.MaxPool2d(2), conv2=conv(3, 4, 3, 1)))
    E = expanded_weights(model, None, "conv2", input_size=32)
    expected = composed(model.conv2.weight.detach(), model.conv1.weight.detach(), stride=2, pool=2)
    torch.testing.assert_close(E, expected, rtol=1e-5, atol=1e-5)
    assert E.shape == (4, 2, 8, 8)


def test_adjacent_layers_give_back_the_weights_even_with_zero_border_taps():
    model = nn.Sequential(OrderedDict(conv1=conv(3, 4, 5, 0), relu1=nn.ReLU(), conv2=conv(4, 2, 3, 1)))
    with torch.no_grad():
        model.conv2.weight[:, :, 0, :] = 0  # a zero row must not shrink the window
    E = expanded_weights(model, "relu1", "conv2")
    torch.testing.assert_close(E, model.conv2.weight.detach(), rtol=1e-6, atol=1e-7)


def test_bad_layer_order_and_too_small_input_are_clear_errors():
    model = nn.Sequential(OrderedDict(conv1=conv(3, 4, 3, 0), relu1=nn.ReLU(), conv2=conv(4, 5, 3, 1)))
    with pytest.raises(ValueError, match="must come after"):
        expanded_weights(model, "conv2", "conv1")
    with pytest.raises(ValueError, match="no child"):
        expanded_weights(model, "conv9", "conv2")
    with pytest.raises(ValueError, match="input_size"):
        expanded_weights(model, None, "conv2", input_size=4)
