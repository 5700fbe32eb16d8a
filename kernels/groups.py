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
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

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
