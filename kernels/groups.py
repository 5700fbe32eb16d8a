"""The groups p4 and p4m: elements, multiplication table, inverses, and their actions.

Conventions (DESIGN.md, "Group conventions"; the tests check every one numerically):

- p4 has 4 elements r = 0..3; r acts on an image by `torch.rot90(x, r, dims=(-2, -1))`.
- p4m has 8 elements g = 4*m + r (m in 0..1, r in 0..3): "flip m times, then rotate r times",
  where the flip is `torch.flip(x, dims=(-1,))`. So p4 is the m = 0 half of p4m, with the same numbers.

Write R for the rotation and F for the flip. Then F R F = R⁻¹ (a mirror turns a counter-clockwise
turn into a clockwise one), hence F R^b = R^-b F and

    (m, a) · (n, b) = R^a F^m R^b F^n = R^(a + (-1)^m b) F^(m + n) = (m + n mod 2, a + (-1)^m b mod 4),

where `g · h` means "first h, then g": `act_on_image(act_on_image(x, h), g) == act_on_image(x, g · h)`.

On a group feature map f of shape (N, C, G, H, W) (one image per group element along axis 2),
the element u acts by transforming every image and permuting the group axis:

    (u · f)[:, :, g] = u · (f[:, :, u⁻¹ g])

That is the action the equivariance laws use: lifting and group convolution satisfy
`layer(u · x) == u · layer(x)`. For u = a rotation (0, 1) it reads (u·f)[(m, r)] = rot90(f[(m, r-1)]):
the group axis rolls by +1 within each flip coset of 4; for the flip u = (1, 0) it reads
(u·f)[(m, r)] = flip(f[(m+1, -r)]).

Index tables (the one home of the group's index arithmetic; GrouPy's design). A fused kernel never
rotates a filter: it reads each entry of the transformed filter g·w from w itself, and these tables
say where. Every table is read off `act_on_image` and `multiply`, never written out by hand:

- `filter_index(k, lifting)`: for output element g and reduction index (e, t) (input element e,
  filter pixel t = a*k + b), the flat index in w[o, i] of the parameter that sits there. The Triton
  kernels load it as a tensor; `filter_landing` is its inverse (the weight gradient's direction).
- `cpp_header()`: the same group as data for C++ and CUDA (kernels/csrc/group_tables.h, generated
  by `python -m kernels.groups`): the product table, the inverses, and each element's pixel map as a
  2x2 integer matrix on centred pixel coordinates, which holds for every filter size k.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import torch

__all__ = ["Group", "P4", "P4M", "GROUPS", "get_group"]


@dataclass(frozen=True)
class Group:
    """p4 (`flips=1`) or p4m (`flips=2`): rotations by multiples of 90°, optionally times a flip."""

    name: str
    flips: int  # 1 for p4 (no flip), 2 for p4m

    # --- elements -------------------------------------------------------------------------------
    @property
    def order(self) -> int:
        """The number of elements: 4 for p4, 8 for p4m."""
        return 4 * self.flips

    @property
    def elements(self) -> range:
        """The elements as the integers 0 .. order-1 (g = 4*m + r)."""
        return range(self.order)

    @property
    def identity(self) -> int:
        return 0

    def element(self, m: int, r: int) -> int:
        """The element "flip m times, then rotate r times" (m taken mod 2, r mod 4)."""
        m, r = m % 2, r % 4
        if m >= self.flips:
            raise ValueError(f"{self.name} has no flips: m must be 0, got {m}")
        return 4 * m + r

    def parts(self, g: int) -> tuple[int, int]:
        """(m, r) of element g: its number of flips and of quarter turns."""
        self._check_element(g)
        return divmod(g, 4)

    def _check_element(self, g) -> None:
        if not isinstance(g, int) or isinstance(g, bool) or not 0 <= g < self.order:
            raise ValueError(f"a {self.name} element is an int in 0..{self.order - 1}, got {g!r}")

    # --- multiplication -------------------------------------------------------------------------
    def multiply(self, g: int, h: int) -> int:
        """g · h: first h, then g."""
        (m, a), (n, b) = self.parts(g), self.parts(h)
        return self.element(m + n, a + (-1) ** m * b)

    def inverse(self, g: int) -> int:
        """g⁻¹: rotations invert their turn; every flipped element (a mirror) is its own inverse."""
        m, r = self.parts(g)
        return self.element(m, r if m else -r)

    @cached_property
    def table(self) -> torch.Tensor:
        """The multiplication table: `table[g, h] == multiply(g, h)`, an int64 (order, order) tensor."""
        return torch.tensor([[self.multiply(g, h) for h in self.elements] for g in self.elements])

    @cached_property
    def inverses(self) -> torch.Tensor:
        """`inverses[g] == inverse(g)`, an int64 (order,) tensor."""
        return torch.tensor([self.inverse(g) for g in self.elements])

    def permutation(self, u: int) -> list[int]:
        """The group-axis gather of the action of u: (u·f)[:, :, g] comes from f[:, :, permutation(u)[g]] = u⁻¹g."""
        u_inv = self.inverse(u)
        return [self.multiply(u_inv, g) for g in self.elements]

    # --- actions --------------------------------------------------------------------------------
    def act_on_image(self, x: torch.Tensor, g: int) -> torch.Tensor:
        """g · x for a tensor whose last two axes are an image (filters included): flip m times, rotate r times."""
        m, r = self.parts(g)
        if m:
            x = torch.flip(x, dims=(-1,))
        return torch.rot90(x, r, dims=(-2, -1)) if r else x

    def act_on_feature_map(self, f: torch.Tensor, u: int, group_dim: int = -3) -> torch.Tensor:
        """u · f for a group feature map: every image transformed, the group axis permuted (see module doc).

        `f` has the group axis at `group_dim` (default -3, as in (N, C, G, H, W)) and the image last.
        The same map applied to a group filter (Cout, Cin, G, k, k) gives its transformed copy.
        """
        if f.dim() < 3 or f.shape[group_dim] != self.order:
            raise ValueError(
                f"f must have a {self.name} group axis of size {self.order} at dim {group_dim}, "
                f"got shape {tuple(f.shape)}"
            )
        index = torch.tensor(self.permutation(u), device=f.device)
        return self.act_on_image(f.index_select(group_dim, index), u)


    # --- index tables (module doc: "Index tables") -----------------------------------------------
    def pixel_source(self, g: int, k: int) -> torch.Tensor:
        """source[t] for the k×k filter pixel t = a*k + b: (g·w)[a, b] = w.flatten()[source[t]], int64 (k*k,)."""
        return self.act_on_image(torch.arange(k * k).reshape(k, k), g).flatten()

    def pixel_matrix(self, g: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """g's pixel map as a matrix M on centred, doubled coordinates A = 2a - (k-1), B = 2b - (k-1):
        (g·w)[a, b] = w[a', b'] with (A', B') = M (A, B), for every k. Read off `pixel_source` at k = 3."""
        source = self.pixel_source(g, 3)

        def centred_source(a, b):
            a_source, b_source = divmod(int(source[a * 3 + b]), 3)
            return a_source - 1, b_source - 1

        first, second = centred_source(2, 1), centred_source(1, 2)  # the images of (1, 0) and (0, 1)
        return (first[0], second[0]), (first[1], second[1])

    def filter_index(self, k: int, lifting: bool) -> torch.Tensor:
        """The expanded filter bank as indices: an int64 (G, Gin*k*k) tensor, Gin = 1 if lifting else G.

        filter_index[g, e*k*k + t] is the flat index in w[o, i] (shape (k, k) or (G, k, k)) of the
        parameter at entry (output element g, input element e, pixel t) of the expanded bank: lifting
        reads w[o, i, source(g, t)], group conv w[o, i, g⁻¹e, source(g, t)] (DESIGN.md's g⁻¹h).
        """
        return _filter_index(self, k, lifting).clone()

    def filter_landing(self, k: int, lifting: bool) -> torch.Tensor:
        """filter_index's inverse along each row: parameter j of w[o, i] sits at column filter_landing[g, j] of copy g."""
        return torch.argsort(_filter_index(self, k, lifting), dim=1)


@lru_cache(maxsize=None)
def _filter_index(group: Group, k: int, lifting: bool) -> torch.Tensor:
    kk = k * k
    channels = [0] if lifting else list(group.elements)
    rows = []
    for g in group.elements:
        source = group.pixel_source(g, k)
        e_source = [0 if lifting else group.multiply(group.inverse(g), e) for e in channels]
        rows.append(torch.cat([e_source[e] * kk + source for e in range(len(channels))]))
    return torch.stack(rows)


P4 = Group("p4", flips=1)
P4M = Group("p4m", flips=2)
GROUPS = {"p4": P4, "p4m": P4M}


def get_group(group) -> Group:
    """A `Group`, given one or its name ("p4" or "p4m")."""
    if isinstance(group, Group):
        return group
    if isinstance(group, str) and group in GROUPS:
        return GROUPS[group]
    raise ValueError(f"group must be 'p4' or 'p4m' (or kernels.groups.P4 / P4M), got {group!r}")


# --- the C++ / CUDA copy of the tables, generated from the definitions above ------------------------
CPP_HEADER = Path(__file__).resolve().parent / "csrc" / "group_tables.h"


def cpp_header() -> str:
    """The text of kernels/csrc/group_tables.h: p4m's tables (p4 is its first four elements) as C++ data."""
    def row(values):
        return "{" + ", ".join(str(int(v)) for v in values) + "}"

    product = "".join(f"        {row(P4M.table[g])},  // g = {g}\n" for g in P4M.elements)
    pixel = "".join(f"        {{{row(P4M.pixel_matrix(g)[0])}, {row(P4M.pixel_matrix(g)[1])}}},  // g = {g}\n"
                    for g in P4M.elements)
    return f"""// group_tables.h: GENERATED by `python -m kernels.groups` from kernels/groups.py. Do not edit by hand:
// tests/kernels/test_groups.py checks that this file is what kernels/groups.py generates.
//
// p4m as data (element g = 4*m + r: flip m times, then rotate r times; p4 is g < 4, same numbers):
//   product[g][h] = g·h (first h, then g)            inverse[g] = g⁻¹
//   pixel[g]: (g·w)[a, b] = w[a', b'] where (A', B') = pixel[g] (A, B) on centred, doubled pixel
//   coordinates A = 2a - (k-1), B = 2b - (k-1): one 2x2 integer matrix per element serves every k.
// Plain C++: the CPU kernels and the .cu files include it (kernels/csrc/group_conv_geometry.h).
#pragma once
#include <cstdint>

namespace conv_circuits {{

struct GroupIndexTables {{
    int8_t product[8][8];
    int8_t inverse[8];
    int8_t pixel[8][2][2];
}};

constexpr GroupIndexTables P4M_TABLES = {{
    {{  // product
{product}    }},
    {row(P4M.inverses)},  // inverse
    {{  // pixel
{pixel}    }},
}};

}}  // namespace conv_circuits
"""


if __name__ == "__main__":  # python -m kernels.groups: (re)write kernels/csrc/group_tables.h
    CPP_HEADER.write_text(cpp_header())
    print(f"wrote {CPP_HEADER}", file=sys.stderr)
