"""Lesson 08: families of units in a trained network, and the evidence that they are real.

The tools themselves (family search from weights and from tuning curves, the rotation test,
circuit measures) live in `course.analysis.families`; this module holds what lesson 08 does
with them on a trained model, once per training seed:

    found = weight_families(model.conv1.weight.detach())   # oriented units, rotation/hue/mirror families
    evidence = seed_evidence(model, images, k=32)           # the numbers the lesson compares across seeds

Two rules keep the trained evidence honest. A family is a set in which every member matches
every other (`find_families`), never a chain of pairs. And only units that change under the
transformation (`transform_selectivity` >= SELECTIVE) may join a family of that kind: a spot or
a flat patch of colour matches any turned kernel about equally well, so its "angle" means
nothing; a grey unit matches any recoloured one, so its "hue" means nothing.
"""
from __future__ import annotations

import torch

from course.analysis.families import (angle_difference, find_families, relative_orientation_profile, rotation_test,
                                      transform_selectivity)
from course.analysis.stimuli import colour_contrast

FAMILY_COSINE = 0.75  # every pair of members matches at least this well (cosine of turned weights, both ways)
SELECTIVE = 0.5       # transform_selectivity a unit needs to join a rotation (or hue) family
ANGLES = torch.arange(0.0, 360.0, 10.0)


def edge_stimulus(size: int = 33) -> torch.Tensor:
    """One white-right / black-left edge through the centre pixel: (1, 3, size, size)."""
    return colour_contrast(size=size, orientations_deg=[0.0], colour_pairs=[((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))])[0]


def family_titles(family: dict, mirrored: bool = False) -> list[str]:
    """'#unit angle' for each member; a mirror pair's second member is marked 'mirror'."""
    return [f"#{u}" + ((" mirror" if i else "") if mirrored else f" {o:.0f}°")
            for i, (u, o) in enumerate(zip(family["units"], family["offsets"]))]


def arc_span(offsets) -> float:
    """The smallest arc of the circle (degrees) that holds all the angles: 0 for one angle, < 360 always."""
    angles = sorted(float(a) % 360 for a in offsets)
    gaps = [b - a for a, b in zip(angles, angles[1:])] + [angles[0] + 360 - angles[-1]]
    return 360.0 - max(gaps)


def weight_families(weights: torch.Tensor, threshold: float = FAMILY_COSINE, selective: float = SELECTIVE,
                    step: float = 2.0, kinds=("rotation", "hue", "reflection")) -> dict:
    """Families among first-layer units (U, 3, k, k), from their weights.

    Returns, for each of `kinds`: "rotation": families among the units that change when turned,
    "hue": families among the units that change when recoloured, "reflection": mirror pairs;
    and "selectivity": {kind: (U,) transform_selectivity}, "oriented" and "coloured": the units
    at or above `selective` (those computed)."""
    found, selectivity = {}, {}
    for kind in kinds:
        if kind == "reflection":
            found[kind] = find_families(weights, kind, threshold, step=step)
            continue
        selectivity[kind] = transform_selectivity(weights, kind)
        keep = [u for u in range(len(weights)) if selectivity[kind][u] >= selective]
        found["oriented" if kind == "rotation" else "coloured"] = keep
        found[kind] = find_families(weights[keep], kind, threshold, step=step, units=keep) if len(keep) > 1 else []
    found["selectivity"] = selectivity
    return found


def largest_family(families: list[dict]) -> dict | None:
    """The family with the most members (the first one found on a tie), or None."""
    return max(families, key=lambda f: len(f["units"]), default=None)


def family_rotation_tests(model, family: dict, images: torch.Tensor, k: int, layer: str = "relu1") -> list[dict]:
    """The rotation test from the family's first member to each other member, turned by its offset."""
    first = f"{layer}:{family['units'][0]}"
    return [rotation_test(model, first, f"{layer}:{unit}", offset, images, k=k)
            for unit, offset in zip(family["units"][1:], family["offsets"][1:])]


def seed_evidence(model, images: torch.Tensor, k: int) -> dict:
    """What lesson 08 compares across training seeds, for one OrientedNet.

    {"oriented_units", "largest_family" (members), "largest_family_size", "families_3plus",
     "largest_family_span_deg", "rotation_test_mean", "rotation_test_unturned_mean"}; the
    rotation-test entries are None when there is no family."""
    found = weight_families(model.conv1.weight.detach(), kinds=("rotation",))
    family = largest_family(found["rotation"])
    tests = family_rotation_tests(model, family, images, k) if family else []
    mean = (lambda key: sum(t[key] for t in tests) / len(tests) if tests else None)  # noqa: E731
    return {"oriented_units": len(found["oriented"]),
            "largest_family": family["units"] if family else [],
            "largest_family_size": len(family["units"]) if family else 0,
            "families_3plus": sum(len(f["units"]) >= 3 for f in found["rotation"]),
            "largest_family_span_deg": arc_span(family["offsets"]) if family else 0.0,
            "rotation_test_mean": mean("correlation"), "rotation_test_unturned_mean": mean("unrotated_correlation")}


def tuning_offset_errors(family: dict, offsets: torch.Tensor, units: list) -> torch.Tensor:
    """|shift between tuning curves - weight offset| (degrees) for each member of a weight family.

    offsets: (U, U) tuning-curve shifts (`tuning_offsets`) of the units `units`, in that order."""
    rows = [units.index(u) for u in family["units"]]
    from_curves = offsets[rows[0], rows]
    return angle_difference(from_curves, torch.tensor(family["offsets"])).abs()


def shuffled_residuals(values: torch.Tensor, source_angles, target_angles, n: int, seed: int) -> torch.Tensor:
    """(n,) `relative_orientation_profile` residuals with the source angles shuffled: its chance level."""
    generator = torch.Generator().manual_seed(seed)
    source = torch.as_tensor(source_angles, dtype=torch.float32)
    return torch.tensor([relative_orientation_profile(values, source[torch.randperm(len(source), generator=generator)],
                                                      target_angles)[2] for _ in range(n)])
