"""Where a fused group kernel finds each entry of the expanded filter bank, and what every group launcher passes.

The kernels never build the expanded bank of kernels/group_reference.py, and never rotate or flip a
filter: they read each entry of it from the small parameter tensor w, at the place that a table
built once by kernels/groups.py says (the same tables, as C++ data, serve the C++ and CUDA kernels):

  Wexp[(o, g), (i, e, t)] = w[o, i].flatten()[index[g, e*k*k + t]]      index = Group.filter_index(k, lifting)

for output element g, input element e (none when lifting: Gin = 1) and filter pixel t = u*k + v. w[o, i]
is the (k, k) or (G, k, k) block of w, Gin*k*k values from ((o*CIN + i)*Gin*k*k). The weight gradient
runs the other way: parameter jw = e_w*k*k + t_w of w[o, i] sits in copy g at column landing[g, jw] =
e*k*k + t (landing = Group.filter_landing(k, lifting)).

The tables go to the kernel as int32 tensors on its device: G x Gin*k*k entries, read through the
cache like any weight. They are built once per (group, k, lifting, device) and kept.
"""
from __future__ import annotations

from functools import lru_cache

import torch

from kernels.groups import P4, P4M
from kernels.triton.launch import output_size, precision_constexprs


@lru_cache(maxsize=64)
def _cached_tables(order: int, k: int, lifting: bool, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    return _build_tables(order, k, lifting, device)


def _build_tables(order, k, lifting, device):
    group = P4 if order == 4 else P4M
    return (group.filter_index(k, lifting).to(device=device, dtype=torch.int32),
            group.filter_landing(k, lifting).to(device=device, dtype=torch.int32))


def filter_tables(order: int, k: int, lifting: bool, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(index, landing) for the group of `order` elements and k×k filters, as int32 tensors on `device`."""
    if torch.compiler.is_compiling():  # traced: built in the graph, no tensor from outside it
        return _build_tables(order, k, lifting, torch.device(device))
    return _cached_tables(order, k, lifting, torch.device(device))


SHAPE_KEY = ["N", "CIN", "H", "W", "COUT", "P", "Q", "k", "stride_h", "stride_w", "G", "G_IN"]


def group_geometry(x_shape, w_shape, pq, stride, padding) -> tuple:
    """The size arguments of all three group kernels: N, CIN, H, W, COUT, P, Q, k, stride_h, stride_w, pad_h, pad_w."""
    n, cin, h, w = x_shape[0], x_shape[1], x_shape[-2], x_shape[-1]
    cout, k = w_shape[0], w_shape[-1]
    return (n, cin, h, w, cout, pq[0], pq[1], k, stride[0], stride[1], padding[0], padding[1])


def group_constexprs(order, lifting, dtype) -> dict:
    """G, G_IN (1 when lifting) and the dtype's constexprs (launch.precision_constexprs)."""
    return {"G": order, "G_IN": 1 if lifting else order, **precision_constexprs(dtype)}


def group_output_size(x_shape, k, stride, padding) -> tuple[int, int]:
    """(P, Q) of a lifting or group convolution: x (N, CIN, [G,] H, W), k×k filters."""
    return output_size(x_shape, (k, k), stride, padding, (1, 1))
