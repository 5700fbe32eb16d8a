"""A hand-built two-layer network with planted families and circuits: the answer key for lesson 08.

Every weight here is written down, not learned, so we know exactly which units are rotated,
mirrored or recoloured copies of each other and how the second layer wires them. The
analysis tools of `course.analysis.families` must recover this truth before we trust what
they say about a trained model.

Angles: degrees, counter-clockwise as seen on screen (x to the right, y up, so row index
grows downwards). An edge unit at angle θ fires when brightness increases along (cos θ, sin θ).

conv1 (3 → 16, 5×5, pad 2)
    0–7    rotation family: grey oriented edges at 0°, 45°, ..., 315°
    8–10   hue family: one vertical colour edge in 3 colourings (RGB channels cycled)
    11–12  mirror pair: a chiral hook and its left-right mirror image
    13     invariant: a centre-surround spot (the same under every rotation)
    14–15  distractors: small seeded random weights (no family)
conv2 (16 → 20, 3×3, pad 1)
    0      equivariant → invariant: the rotation family summed, each member with the same
           3×3 pattern turned to its own angle
    1–8    equivariant → equivariant: curve-like units at 0°, ..., 315°; the weight from edge
           member k to unit j depends only on the relative angle θ_k − φ_j
    9–16   invariant → equivariant: fed by the spot unit 13 through one 3×3 pattern, turned
           to each unit's angle
    17–19  distractors
"""
from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

C1, C2 = 16, 20
FAMILY_ANGLES = [45.0 * k for k in range(8)]
EDGE_UNITS = list(range(8))
HUE_UNITS = [8, 9, 10]
MIRROR_UNITS = [11, 12]
SPOT_UNIT = 13
INVARIANT_UNIT = 0
CURVE_UNITS = list(range(1, 9))
SPOT_FED_UNITS = list(range(9, 17))
# Weight from an edge member to a curve unit at relative angle 0°, 45°, ..., 315° (member minus unit).
RELATIVE_PROFILE = [1.0, 0.5, 0.0, -0.3, -0.6, -0.3, 0.0, 0.5]
HUE_COLOUR = [1.0, -0.5, -0.5]  # red against cyan: no brightness part, so its cycles are pure recolourings


def _grid(k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Screen coordinates (x right, y up) of a k×k kernel's taps, centred: (k, k) each."""
    offsets = torch.arange(k, dtype=torch.float32) - (k - 1) / 2
    return offsets[None, :].expand(k, k), -offsets[:, None].expand(k, k)


def oriented_edge(angle_deg: float, k: int = 5, sigma: float = 1.2) -> torch.Tensor:
    """(k, k) derivative-of-Gaussian edge: positive where (x, y)·(cos θ, sin θ) > 0."""
    x, y = _grid(k)
    t = math.radians(angle_deg)
    along = x * math.cos(t) + y * math.sin(t)
    edge = along * torch.exp(-(x**2 + y**2) / (2 * sigma**2))
    return edge / edge.norm()


def centre_surround(k: int = 5) -> torch.Tensor:
    """(k, k) difference of Gaussians, zero sum: bright spot on a darker ring."""
    x, y = _grid(k)
    r2 = x**2 + y**2
    spot = torch.exp(-r2 / 2 * 1.5) - 0.35 * torch.exp(-r2 / (2 * 2.0**2))
    spot = spot - spot.mean()
    return spot / spot.norm()


def chiral_hook(k: int = 5) -> torch.Tensor:
    """(k, k) "Z"-shaped stroke: no mirror symmetry, so its mirror image (an "S") is none of its rotations."""
    hook = torch.zeros(k, k)
    hook[0, 0:3] = 1.0  # top bar, to the left
    hook[1:4, 2] = 1.0  # down the middle
    hook[4, 2:5] = 1.0  # bottom bar, to the right
    hook = hook - hook.mean()
    return hook / hook.norm()


def ring_pattern(angle_deg: float, centre: float, lean: float) -> torch.Tensor:
    """3×3 pattern: `centre` in the middle and `lean` on the neighbour in direction angle_deg (a multiple of 45°)."""
    pattern = torch.zeros(3, 3)
    pattern[1, 1] = centre
    t = math.radians(angle_deg)
    pattern[1 - round(math.sin(t)), 1 + round(math.cos(t))] += lean
    return pattern


def _conv1_weights(generator: torch.Generator) -> torch.Tensor:
    w = torch.zeros(C1, 3, 5, 5)
    for unit, angle in zip(EDGE_UNITS, FAMILY_ANGLES):
        w[unit] = oriented_edge(angle) / math.sqrt(3)  # grey: the same on R, G and B
    colour = torch.tensor(HUE_COLOUR) / torch.tensor(HUE_COLOUR).norm()
    for shift, unit in enumerate(HUE_UNITS):
        w[unit] = torch.roll(colour, shift)[:, None, None] * oriented_edge(0.0)
    w[MIRROR_UNITS[0]] = chiral_hook() / math.sqrt(3)
    w[MIRROR_UNITS[1]] = torch.flip(chiral_hook(), dims=(-1,)) / math.sqrt(3)
    w[SPOT_UNIT] = centre_surround() / math.sqrt(3)
    w[14:] = 0.15 * torch.randn(C1 - 14, 3, 5, 5, generator=generator)
    return w


def _conv2_weights(generator: torch.Generator) -> torch.Tensor:
    w = torch.zeros(C2, C1, 3, 3)
    for member, angle in zip(EDGE_UNITS, FAMILY_ANGLES):
        w[INVARIANT_UNIT, member] = ring_pattern(angle, centre=0.25, lean=0.5)
    for unit, unit_angle in zip(CURVE_UNITS, FAMILY_ANGLES):
        for step, member in enumerate(EDGE_UNITS):
            relative = (step - CURVE_UNITS.index(unit)) % 8  # member angle minus unit angle, in 45° steps
            w[unit, member, 1, 1] = RELATIVE_PROFILE[relative]
        # curve-like: the neighbouring orientations on either side, placed along the edge
        w[unit, EDGE_UNITS[(CURVE_UNITS.index(unit) + 1) % 8]] += ring_pattern(unit_angle + 90, 0.0, 0.4)
        w[unit, EDGE_UNITS[(CURVE_UNITS.index(unit) - 1) % 8]] += ring_pattern(unit_angle - 90, 0.0, 0.4)
    for unit, angle in zip(SPOT_FED_UNITS, FAMILY_ANGLES):
        w[unit, SPOT_UNIT] = ring_pattern(angle, centre=0.25, lean=0.5)  # the invariant unit's pattern, transposed
    w[17:] = 0.15 * torch.randn(C2 - 17, C1, 3, 3, generator=generator)
    return w


class ConstructedFamilies(nn.Sequential):
    """conv1 → relu1 → conv2 → relu2 with the planted weights above (zero biases)."""

    def __init__(self, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        conv1, conv2 = nn.Conv2d(3, C1, 5, padding=2), nn.Conv2d(C1, C2, 3, padding=1)
        with torch.no_grad():
            conv1.weight.copy_(_conv1_weights(g))
            conv2.weight.copy_(_conv2_weights(g))
            conv1.bias.zero_()
            conv2.bias.zero_()
        super().__init__(OrderedDict([("conv1", conv1), ("relu1", nn.ReLU()), ("conv2", conv2),
                                      ("relu2", nn.ReLU())]))
        self.eval()


def planted_truth() -> dict:
    """The answer key as plain data: which units form which family, at which angles, wired how."""
    return {
        "rotation_family": {"layer": "conv1", "units": EDGE_UNITS, "angles": FAMILY_ANGLES},
        "hue_family": {"layer": "conv1", "units": HUE_UNITS, "shifts": [0, 1, 2]},
        "mirror_pair": {"layer": "conv1", "units": MIRROR_UNITS},
        "invariant_unit": {"layer": "conv1", "unit": SPOT_UNIT},
        "distractors": {"conv1": [14, 15], "conv2": [17, 18, 19]},
        "equivariant_to_invariant": {"layer": "conv2", "unit": INVARIANT_UNIT, "from": EDGE_UNITS,
                                     "from_angles": FAMILY_ANGLES},
        "equivariant_to_equivariant": {"layer": "conv2", "units": CURVE_UNITS, "angles": FAMILY_ANGLES,
                                       "from": EDGE_UNITS, "relative_angles": FAMILY_ANGLES,
                                       "relative_profile": RELATIVE_PROFILE},
        "invariant_to_equivariant": {"layer": "conv2", "units": SPOT_FED_UNITS, "angles": FAMILY_ANGLES,
                                     "from": SPOT_UNIT},
    }
