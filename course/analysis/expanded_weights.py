"""Expanded weights: how a unit in one layer is connected to the units several layers below.

Adjacent layers are connected by their weights. Layers further apart are connected through
everything in between, including nonlinearities, so there is no single set of weights
between them. But if the ReLUs in between are replaced by the identity (and max pools by
average pools, and biases dropped), the path becomes linear, and a linear map between two
feature maps *is* a set of convolution weights: the "expanded weights". They answer a
counterfactual question: if a unit of the lower layer fired a little more at some position,
by how much would the upper unit move, assuming every unit in between passes signals on?

For a purely linear stack this is exact: two 3×3 convolutions compose into one 5×5
convolution whose kernel is the sum over the middle channels of the two kernels convolved.
For a ReLU network it is an approximation that keeps each path's sign, which is what makes
it useful for reading circuits (a bottleneck followed by a 3×3 conv, for example, reads as
one 3×3 conv from the layer below the bottleneck).

How: build the linearised copy of the layers in between, feed it a zero map, and ask
autograd for the gradient of every output channel at the centre position with respect to
the input map: a linear map's gradient is its weights. The window is the receptive field,
found by a second pass through the same layers with all-positive weights (its gradient is
non-zero exactly on the receptive field, even where a real weight happens to be zero).

    E = expanded_weights(model, "relu1", "conv3")     # (C_conv3, C_relu1, kh, kw)
"""
from __future__ import annotations

import torch
from torch import nn

from course.analysis.units import layer_outputs

_PASS_THROUGH = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Dropout,
                 nn.Identity)


def expanded_weights(model: nn.Sequential, from_layer: str | None, to_layer: str,
                     input_size: int = 32) -> torch.Tensor:
    """The linearised weights (C_to, C_from, kh, kw) from `from_layer`'s output to `to_layer`'s output.

    from_layer None means the model's input. The children strictly after from_layer up to
    and including to_layer are linearised (activations -> identity, max pool -> average pool,
    biases dropped); the gradient is taken at the centre output position of an input of
    input_size × input_size pixels, which must be large enough to hold the receptive field.
    """
    children = _children_between(model, from_layer, to_layer)
    c_from, height, width = _input_shape(model, from_layer, input_size)
    real = _centre_gradients(_linearised(children, positive=False), c_from, height, width)
    probe = _centre_gradients(_linearised(children, positive=True), c_from, height, width)
    rows, cols = torch.nonzero(probe.abs().sum(dim=(0, 1)) > 0, as_tuple=True)
    top, bottom, left, right = rows.min().item(), rows.max().item(), cols.min().item(), cols.max().item()
    if top == 0 or left == 0 or bottom == height - 1 or right == width - 1:
        raise ValueError(f"the receptive field of {to_layer!r} reaches the border of a {input_size}-pixel "
                         f"input: pass a larger input_size")
    return real[:, :, top:bottom + 1, left:right + 1].float()


def _children_between(model, from_layer, to_layer):
    names = [name for name, _ in model.named_children()]
    for name in (from_layer, to_layer):
        if name is not None and name not in names:
            raise ValueError(f"no child named {name!r}; the model's children are {names}")
    start = 0 if from_layer is None else names.index(from_layer) + 1
    stop = names.index(to_layer) + 1
    if stop <= start:
        raise ValueError(f"to_layer {to_layer!r} must come after from_layer {from_layer!r}")
    return [module for _, module in list(model.named_children())[start:stop]]


def _input_shape(model, from_layer, input_size):
    """(channels, height, width) of the map that from_layer outputs for an input_size image."""
    first_conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    probe = torch.zeros(1, first_conv.in_channels, input_size, input_size)
    if from_layer is None:
        return tuple(probe.shape[1:])
    with torch.no_grad():
        return tuple(layer_outputs(model, probe, [from_layer])[from_layer].shape[1:])


def _linearised(children, positive):
    """A float64 linear copy of the children; positive=True sets every conv weight to 1."""
    return nn.Sequential(*[_linear_copy(module, positive) for module in children]).double()


def _linear_copy(module, positive):
    if isinstance(module, nn.Conv2d):
        copy = nn.Conv2d(module.in_channels, module.out_channels, module.kernel_size, module.stride,
                         module.padding, module.dilation, module.groups, bias=False)
        weight = module.weight.detach()
        copy.weight = nn.Parameter(torch.ones_like(weight) if positive else weight.clone(), requires_grad=False)
        return copy
    if isinstance(module, nn.MaxPool2d):
        return nn.AvgPool2d(module.kernel_size, module.stride, module.padding)
    if isinstance(module, _PASS_THROUGH):
        return nn.Identity()
    if isinstance(module, (nn.AvgPool2d, nn.Upsample)):
        return module
    raise ValueError(f"expanded_weights cannot linearise a {type(module).__name__}")


def _centre_gradients(stack, channels, height, width):
    """Gradient of each output channel at the centre position w.r.t. the input map: (C_to, C_from, H, W).

    One backward pass for all output channels: copy n of the (zero) input feeds output channel n.
    """
    with torch.no_grad():
        c_to = stack(torch.zeros(1, channels, height, width, dtype=torch.float64)).shape[1]
    x = torch.zeros(c_to, channels, height, width, dtype=torch.float64, requires_grad=True)
    y = stack(x)
    centre = y[torch.arange(c_to), torch.arange(c_to), y.shape[2] // 2, y.shape[3] // 2]
    (gradient,) = torch.autograd.grad(centre.sum(), x)
    return gradient
