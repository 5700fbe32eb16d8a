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
    cout, cin, k, _ = weight.shape
    copies = [group.act_on_image(weight, g) for g in group.elements]  # each (Cout, Cin, k, k)
    return torch.stack(copies, dim=1).reshape(cout * group.order, cin, k, k)


def expand_group_filters(weight: torch.Tensor, group) -> torch.Tensor:
    """(Cout, Cin, G, k, k) -> (Cout*G, Cin*G, k, k): entry [o*G + g, i*G + h] is g · weight[o, i, g⁻¹h]."""
    group = get_group(group)
    _check_filters(weight, "weight", rank=5, shape="(Cout, Cin, G, k, k)")
    cout, cin, order, k, _ = weight.shape
    if order != group.order:
        raise ValueError(f"weight must have a {group.name} group axis of size {group.order}, got shape {tuple(weight.shape)}")
    copies = [group.act_on_feature_map(weight, g) for g in group.elements]  # each (Cout, Cin, G, k, k)
    return torch.stack(copies, dim=1).reshape(cout * order, cin * order, k, k)


def _unfold_group_axis(output: torch.Tensor, order: int) -> torch.Tensor:
    n, channels, h, w = output.shape
    return output.reshape(n, channels // order, order, h, w)


def _bias(bias, order: int):
    return None if bias is None else bias.repeat_interleave(order)  # shared over the group axis


def lift(input, weight, bias, stride, padding, group):
    """(N, Cin, H, W), (Cout, Cin, k, k) -> (N, Cout, G, H', W'), through the expanded filter bank."""
    group = get_group(group)
    out = F.conv2d(input, expand_lift_filters(weight, group), _bias(bias, group.order), stride, padding)
    return _unfold_group_axis(out, group.order)


def group_conv(input, weight, bias, stride, padding, group):
    """(N, Cin, G, H, W), (Cout, Cin, G, k, k) -> (N, Cout, G, H', W'), through the expanded filter bank."""
    group = get_group(group)
    folded = input.flatten(1, 2)  # channel index i*G + h
    out = F.conv2d(folded, expand_group_filters(weight, group), _bias(bias, group.order), stride, padding)
    return _unfold_group_axis(out, group.order)


def p4_lift(input, weight, bias, stride, padding):
    return lift(input, weight, bias, stride, padding, P4)


def p4_conv(input, weight, bias, stride, padding):
    return group_conv(input, weight, bias, stride, padding, P4)


def p4m_lift(input, weight, bias, stride, padding):
    return lift(input, weight, bias, stride, padding, P4M)


def p4m_conv(input, weight, bias, stride, padding):
    return group_conv(input, weight, bias, stride, padding, P4M)
