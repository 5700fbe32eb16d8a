"""Tuning curves: how a unit's response changes as one stimulus parameter sweeps.

Show a unit gratings at every orientation and plot its response against the angle: that
curve (its *tuning curve*) is the classic way neuroscientists describe a cell, and it works
as well for a CNN unit. Other parameters of the stimulus (phase, frequency) are nuisances
for this question: `combine="max"` takes the unit's best response over them (the unit
gets to pick the phase it likes), `combine="mean"` averages them. Two parameters at once
give a 2-D heatmap (orientation × frequency ratio, for example).

Two numbers summarise a curve over angles, both from the *rectified* responses r (a ReLU
unit's negative pre-activations never reach the next layer):
- preferred angle: the direction of the vector mean Σ r·e^{iφ}, with φ the angle mapped to
  a full turn (period 180 for gratings, whose θ and θ+180 are the same image; 360 for
  stimuli with a side, like high-low boundaries). Unlike the argmax it is not limited to
  the grid and is not fooled by the wrap-around at 0/360.
- selectivity: |Σ r·e^{iφ}| / Σ r, which is 1 - circular variance: 1 when the unit answers
  one angle only, 0 when it answers all angles equally.

    values, curve = tuning(model, "relu2:5", *gratings(), over="orientation")
    preferred_angle(values, curve, period=180), selectivity(values, curve, period=180)
"""
from __future__ import annotations

import math

import torch

from course.analysis.units import unit_response


def tuning(model, unit: str, images: torch.Tensor, params: dict[str, torch.Tensor], over,
           reduce: str = "center", combine: str = "max"):
    """The unit's response for each value of `over` (a param name, or a pair of names).

    Returns (values (K,), responses (K,)) for one name, or ((values_a, values_b), responses
    (Ka, Kb)) for a pair; the images sharing those values are combined by "max" or "mean".
    """
    responses = unit_response(model, images, unit, reduce=reduce)
    return group_responses(responses, params, over, combine=combine)


def group_responses(responses: torch.Tensor, params: dict[str, torch.Tensor], over, combine: str = "max"):
    """`tuning` for responses (N,) already computed: combine them per value of the named param(s)."""
    names = (over,) if isinstance(over, str) else tuple(over)
    if not 1 <= len(names) <= 2 or any(name not in params for name in names):
        raise ValueError(f"over must name one or two of the params {list(params)}, got {over!r}")
    if combine not in ("max", "mean"):
        raise ValueError(f"combine must be 'max' or 'mean', got {combine!r}")
    values, indices = zip(*(torch.unique(params[name], return_inverse=True) for name in names))
    shape = tuple(len(v) for v in values)
    cell = indices[0] if len(names) == 1 else indices[0] * shape[1] + indices[1]
    table = torch.full((math.prod(shape),), float("nan"), dtype=torch.float32)
    table = table.scatter_reduce(0, cell, responses.float(), reduce="amax" if combine == "max" else "mean",
                                 include_self=False)
    return (values[0] if len(names) == 1 else values), table.reshape(shape)


def _resultant(angles_deg, responses, period):
    """Σ r·e^{iφ} of the rectified responses, and Σ r."""
    r = torch.as_tensor(responses, dtype=torch.float64).clamp_min(0)
    phi = torch.as_tensor(angles_deg, dtype=torch.float64) * (2 * math.pi / period)
    return torch.complex((r * torch.cos(phi)).sum(), (r * torch.sin(phi)).sum()), r.sum()


def preferred_angle(angles_deg, responses, period: float = 360) -> float:
    """The circular mean angle (degrees in [0, period)) of the rectified responses; nan if none is positive."""
    vector, total = _resultant(angles_deg, responses, period)
    if total <= 0:
        return float("nan")
    return float(torch.angle(vector) * period / (2 * math.pi)) % period


def selectivity(angles_deg, responses, period: float = 360) -> float:
    """1 - circular variance of the rectified responses, in [0, 1]; 0 if none is positive."""
    vector, total = _resultant(angles_deg, responses, period)
    return float(vector.abs() / total) if total > 0 else 0.0
