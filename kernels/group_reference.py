"""The "torch" backend of the group convolutions: expand the filter bank, then one `F.conv2d`.

Weight tying made explicit (the weight-sharing map H(u) of lesson 02). A lifting layer has a
parameter w of shape (Cout, Cin, k, k); its expanded filter bank has one copy per group element,

    expanded[o*G + g] = g · w[o]                                    shape (Cout*G, Cin, k, k)

and a group convolution has w of shape (Cout, Cin, G, k, k), expanded with the action on group
feature maps (kernels/groups.py): transform the k×k images and permute the group axis,

    expanded[o*G + g, i*G + h] = g · w[o, i, g⁻¹h]                  shape (Cout*G, Cin*G, k, k)

Then `F.conv2d` of the input (group axis folded into the channels, channel index i*G + h) with the
expanded bank gives output channel o*G + g, unfolded to (N, Cout, G, H', W'). That is exactly
DESIGN.md's definitions: out[:, o, g] = x ⋆ (g·w[o]) and out[:, o, g] = Σ_i,h f[:, i, h] ⋆ (g·w[o, i, g⁻¹h]).
Every step is a differentiable torch operation, so gradients flow to input, weight and bias (the
weight gradient sums over the G tied copies by itself).

The functions here take already checked arguments (stride and padding as pairs of ints); call them
through `kernels.p4_lift` and friends, which check.

Expanding the bank is exercise 07's answer, so the student copy computes the same layers without
it: `lift_by_turning_input` and `group_conv_by_turning_input` below turn the input instead of the
filter (x ⋆ (g·w) = g·((g⁻¹·x) ⋆ w)), and the bank, where a lesson shows it, is read off the layer's
response to single lit pixels. The tests check both against the expansion.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from kernels.groups import P4, P4M, get_group

SUPPORTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
DEVICE = None  # any device PyTorch runs on

__all__ = ["expand_lift_filters", "expand_group_filters", "p4_lift", "p4_conv", "p4m_lift", "p4m_conv"]


def available() -> tuple[bool, str]:
    """PyTorch is always there."""
    return True, ""


def _check_filters(weight, name, rank, shape):
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor {shape}, got {type(weight).__name__}")
    if weight.dim() != rank:
        raise ValueError(f"{name} must have {rank} dimensions {shape}, got shape {tuple(weight.shape)}")
    if weight.shape[-1] != weight.shape[-2]:
        raise ValueError(f"{name} must have a square kernel (k, k) to be rotated, got shape {tuple(weight.shape)}")


def expand_lift_filters(weight: torch.Tensor, group) -> torch.Tensor:
    """(Cout, Cin, k, k) -> (Cout*G, Cin, k, k): row o*G + g is g · weight[o]."""
    group = get_group(group)
    _check_filters(weight, "weight", rank=4, shape="(Cout, Cin, k, k)")
    # BEGIN SOLUTION
    cout, cin, k, _ = weight.shape
    copies = [group.act_on_image(weight, g) for g in group.elements]  # each (Cout, Cin, k, k)
    return torch.stack(copies, dim=1).reshape(cout * group.order, cin, k, k)
    # END SOLUTION
    # RELEASE: return bank_by_impulses(lift_by_turning_input, weight, group)


def expand_group_filters(weight: torch.Tensor, group) -> torch.Tensor:
    """(Cout, Cin, G, k, k) -> (Cout*G, Cin*G, k, k): entry [o*G + g, i*G + h] is g · weight[o, i, g⁻¹h]."""
    group = get_group(group)
    _check_filters(weight, "weight", rank=5, shape="(Cout, Cin, G, k, k)")
    cout, cin, order, k, _ = weight.shape
    if order != group.order:
        raise ValueError(f"weight must have a {group.name} group axis of size {group.order}, got shape {tuple(weight.shape)}")
    # BEGIN SOLUTION
    copies = [group.act_on_feature_map(weight, g) for g in group.elements]  # each (Cout, Cin, G, k, k)
    return torch.stack(copies, dim=1).reshape(cout * order, cin * order, k, k)
    # END SOLUTION
    # RELEASE: return bank_by_impulses(group_conv_by_turning_input, weight, group)


def _unfold_group_axis(output: torch.Tensor, order: int) -> torch.Tensor:
    n, channels, h, w = output.shape
    return output.reshape(n, channels // order, order, h, w)


def _bias(bias, order: int):
    return None if bias is None else bias.repeat_interleave(order)  # shared over the group axis


def lift(input, weight, bias, stride, padding, group):
    """(N, Cin, H, W), (Cout, Cin, k, k) -> (N, Cout, G, H', W'), through the expanded filter bank."""
    # BEGIN SOLUTION
    group = get_group(group)
    out = F.conv2d(input, expand_lift_filters(weight, group), _bias(bias, group.order), stride, padding)
    return _unfold_group_axis(out, group.order)
    # END SOLUTION
    # RELEASE: return lift_by_turning_input(input, weight, bias, stride, padding, group)


def group_conv(input, weight, bias, stride, padding, group):
    """(N, Cin, G, H, W), (Cout, Cin, G, k, k) -> (N, Cout, G, H', W'), through the expanded filter bank."""
    # BEGIN SOLUTION
    group = get_group(group)
    folded = input.flatten(1, 2)  # channel index i*G + h
    out = F.conv2d(folded, expand_group_filters(weight, group), _bias(bias, group.order), stride, padding)
    return _unfold_group_axis(out, group.order)
    # END SOLUTION
    # RELEASE: return group_conv_by_turning_input(input, weight, bias, stride, padding, group)


# --- the same layers with the input turned instead of the filter (what the student copy runs) ------
def lift_by_turning_input(input, weight, bias, stride, padding, group):
    """The lifting layer as out[:, o, g] = g · ((g⁻¹ · x) ⋆ w[o]): no filter bank anywhere.

    Turning both an image and a filter turns their (valid, stride-1) correlation, so x ⋆ (g·w) =
    g·((g⁻¹·x) ⋆ w) holds exactly, for any image shape, once the padding is part of x. The stride
    then keeps every s-th output, which is what a strided correlation computes.
    """
    group = get_group(group)
    padded = F.pad(input, (padding[1], padding[1], padding[0], padding[0]))
    return _turn_back(group, [F.conv2d(group.act_on_image(padded, group.inverse(g)), weight) for g in group.elements],
                      bias, stride)


def group_conv_by_turning_input(input, weight, bias, stride, padding, group):
    """The group convolution as out[:, o, g] = g · Σ_i,h ((g⁻¹ · f)[:, i, h] ⋆ w[o, i, h]): no filter bank.

    DESIGN.md's sum over f[:, i, h] ⋆ (g·w[o, i, g⁻¹h]) becomes, turning each term by g⁻¹ and
    renaming h' = g⁻¹h, a plain correlation of the transformed feature map g⁻¹·f (images turned,
    group axis permuted) with the untransformed weight.
    """
    group = get_group(group)
    padded = F.pad(input, (padding[1], padding[1], padding[0], padding[0]))
    flat_weight = weight.flatten(1, 2)  # channel i*G + h, like the folded input
    return _turn_back(group, [F.conv2d(group.act_on_feature_map(padded, group.inverse(g)).flatten(1, 2), flat_weight)
                              for g in group.elements], bias, stride)


def _turn_back(group, correlations, bias, stride):
    """Element g's stride-1 correlation turned by g and subsampled: (N, Cout, G, H', W')."""
    out = torch.stack([group.act_on_image(y, g)[..., :: stride[0], :: stride[1]]
                       for g, y in zip(group.elements, correlations)], dim=2)
    return out if bias is None else out + bias[:, None, None, None]


def bank_by_impulses(layer, weight, group) -> torch.Tensor:
    """The expanded filter bank of `layer`, read off its response to one lit pixel per input channel.

    A 1×1 input padded by k-1 is a single 1 in the middle of zeros; correlating it with a k×k
    filter gives that filter upside down and mirrored. Shape as expand_lift_filters /
    expand_group_filters give it; differentiable in weight.
    """
    group = get_group(group)
    k = weight.shape[-1]
    channels = weight.shape[1] * (1 if weight.dim() == 4 else group.order)  # Cin, or Cin*G for a group conv
    pixels = torch.eye(channels, dtype=weight.dtype, device=weight.device).reshape(channels, *weight.shape[1:-2], 1, 1)
    response = layer(pixels, weight, None, (1, 1), (k - 1, k - 1), group)  # (channels, Cout, G, k, k)
    return response.flip(-2, -1).permute(1, 2, 0, 3, 4).reshape(weight.shape[0] * group.order, channels, k, k)


def p4_lift(input, weight, bias, stride, padding):
    return lift(input, weight, bias, stride, padding, P4)


def p4_conv(input, weight, bias, stride, padding):
    return group_conv(input, weight, bias, stride, padding, P4)


def p4m_lift(input, weight, bias, stride, padding):
    return lift(input, weight, bias, stride, padding, P4M)


def p4m_conv(input, weight, bias, stride, padding):
    return group_conv(input, weight, bias, stride, padding, P4M)
