"""Synthetic stimuli: images whose every parameter is known, to ask a unit what it responds to.

A dataset image mixes a thousand things at once; a stimulus varies one thing at a time
(an orientation, a frequency, a radius, a colour) so a unit's response can be plotted
against it as a tuning curve (`course.analysis.tuning`). Every function here builds the
full grid of its parameters in one vectorised step and returns

    images (N, C, S, S) float32 in [0, 1],   params {name: (N,) tensor}

where N is the product of the grid sizes and params[name][i] is image i's value. One-channel
stimuli are grey; with channels=3 grey stimuli repeat the same values in R, G and B.

Geometry (the same in every function): positions are measured from the image centre in
pixels, x to the right and y *up* the screen; an orientation θ (degrees) is the direction
(cos θ, sin θ), counter-clockwise from "right". So θ = 0 points right, θ = 90 points up.

    gratings        sinusoid varying along θ (stripes perpendicular to it): period 180°
    high_low        high-frequency texture on the side θ points to, low frequency on the other
    curves          an arc through the centre, bulging towards θ
    colour_contrast colour 1 on the side θ points to, colour 2 on the other
    centre_surround a disc of one colour on a background of another
"""
from __future__ import annotations

import math

import torch

_ORIENTATIONS_180 = tuple(range(0, 180, 15))
_ORIENTATIONS_360 = tuple(float(a) for a in torch.arange(0, 360, 22.5).tolist())
_PHASES = (0.0, math.pi / 2, math.pi, 3 * math.pi / 2)
_COLOURS = ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
_COLOUR_PAIRS = (((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)), ((0.0, 0.0, 1.0), (1.0, 1.0, 0.0)),
                 ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0)))


def gratings(size=32, orientations_deg=_ORIENTATIONS_180, frequencies=(0.05, 0.1, 0.15, 0.25), phases=_PHASES,
             channels=3, contrast=1.0):
    """Sinusoidal gratings 0.5 + 0.5·contrast·cos(2π·f·u + phase), u the position along θ.

    frequency f in cycles per pixel (0.5 is the finest a pixel grid can hold).
    params: orientation, frequency, phase.
    """
    theta, frequency, phase = _grid(orientations_deg, frequencies, phases)
    u, _ = _along_across(size, theta)
    grey = 0.5 + 0.5 * contrast * torch.cos(2 * math.pi * frequency[:, None, None] * u + phase[:, None, None])
    return _channels(grey, channels), {"orientation": theta, "frequency": frequency, "phase": phase}


def high_low(size=32, orientations_deg=_ORIENTATIONS_360, ratios=(1, 2, 3, 5, 10), high_frequency=0.35,
             phases=_PHASES, channels=3, contrast=1.0):
    """A boundary through the centre, perpendicular to θ; a plaid texture of `high_frequency`
    on the side θ points to and of high_frequency / ratio on the other side.

    The plaid (equal cosines along and across θ) has no single orientation of its own, so
    only the boundary's orientation and the frequency difference carry information.
    θ and θ + 180 are mirror images (high and low sides swapped); ratio 1 has no boundary at all.
    params: orientation, ratio, phase.
    """
    theta, ratio, phase = _grid(orientations_deg, ratios, phases)
    u, v = _along_across(size, theta)
    high_side = _soft_side(u)
    low_frequency = high_frequency / ratio
    grey = high_side * _plaid(u, v, high_frequency, phase) + (1 - high_side) * _plaid(u, v, low_frequency, phase)
    grey = 0.5 + contrast * (grey - 0.5)
    return _channels(grey, channels), {"orientation": theta, "ratio": ratio, "phase": phase}


def curves(size=32, radii=(4.0, 6.0, 9.0, 14.0, 24.0), orientations_deg=_ORIENTATIONS_360, width=1.5, channels=3,
           arc_length=None):
    """A bright arc (width in pixels, Gaussian profile) on black, through the image centre.

    The arc belongs to a circle of the given radius whose centre lies at distance `radius`
    from the image centre, in direction θ + 180: the arc bulges towards θ. Only `arc_length`
    pixels of it are drawn (default 0.75·size; a whole circle when it is shorter).
    params: radius, orientation.
    """
    radius, theta = _grid(radii, orientations_deg)
    arc_length = 0.75 * size if arc_length is None else arc_length
    u, v = _along_across(size, theta)
    centre_u = -radius[:, None, None]  # the circle's centre, in the (u, v) frame of θ
    distance = torch.sqrt((u - centre_u) ** 2 + v**2)
    line = torch.exp(-0.5 * ((distance - radius[:, None, None]) / (width / 2)) ** 2)
    angle_from_apex = torch.atan2(v, u - centre_u).abs()
    on_arc = angle_from_apex <= (arc_length / (2 * radius))[:, None, None]
    return _channels(line * on_arc, channels), {"radius": radius, "orientation": theta}


def colour_contrast(size=32, orientations_deg=_ORIENTATIONS_360, colour_pairs=_COLOUR_PAIRS, channels=3):
    """A straight boundary through the centre, colour_pairs[k][0] on the side θ points to and
    colour_pairs[k][1] on the other. One channel shows the colours' mean (their grey level).

    params: orientation, pair (the index k).
    """
    theta, pair = _grid(orientations_deg, range(len(colour_pairs)))
    u, _ = _along_across(size, theta)
    first = _colour_table([p[0] for p in colour_pairs], channels)[pair.long()]
    second = _colour_table([p[1] for p in colour_pairs], channels)[pair.long()]
    side = _soft_side(u)[:, None]
    images = side * first[:, :, None, None] + (1 - side) * second[:, :, None, None]
    return images.float(), {"orientation": theta, "pair": pair}


def centre_surround(size=32, radii=(2.0, 4.0, 6.0, 9.0), centre_colours=_COLOURS, surround_colours=_COLOURS,
                    channels=3):
    """A disc of radius r at the image centre in one colour, the rest of the image in another.

    params: radius, centre (index into centre_colours), surround (index into surround_colours).
    """
    radius, centre, surround = _grid(radii, range(len(centre_colours)), range(len(surround_colours)))
    x, y = _coordinates(size)
    inside = (radius[:, None, None] - torch.sqrt(x**2 + y**2) + 0.5).clamp(0, 1)[:, None]  # anti-aliased rim
    inner = _colour_table(centre_colours, channels)[centre.long()][:, :, None, None]
    outer = _colour_table(surround_colours, channels)[surround.long()][:, :, None, None]
    images = inside * inner + (1 - inside) * outer
    return images.float(), {"radius": radius, "centre": centre, "surround": surround}


def _grid(*axes):
    """Every combination of the values on each axis, as flat float32 tensors (first axis slowest)."""
    values = [torch.as_tensor(list(axis), dtype=torch.float32) for axis in axes]
    return [g.reshape(-1) for g in torch.meshgrid(*values, indexing="ij")]


def _coordinates(size):
    """x (right) and y (up) of every pixel centre, measured from the image centre: (S, S) each."""
    offsets = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    y, x = torch.meshgrid(-offsets, offsets, indexing="ij")  # row 0 is the top: largest y
    return x, y


def _along_across(size, theta_deg):
    """u: position along the direction θ; v: position along θ + 90. Both (N, S, S)."""
    x, y = _coordinates(size)
    theta = torch.deg2rad(theta_deg)[:, None, None]
    u = x * torch.cos(theta) + y * torch.sin(theta)
    v = -x * torch.sin(theta) + y * torch.cos(theta)
    return u, v


def _soft_side(u):
    """1 on the side u > 0, 0 on the other, a one-pixel linear ramp between (anti-aliasing)."""
    return (0.5 + u).clamp(0, 1)


def _plaid(u, v, frequency, phase):
    """Two equal cosines, along u and along v, averaged: values in [0, 1] around 0.5."""
    f, p = torch.as_tensor(frequency)[..., None, None], phase[:, None, None]
    return 0.5 + 0.25 * (torch.cos(2 * math.pi * f * u + p) + torch.cos(2 * math.pi * f * v + p))


def _colour_table(colours, channels):
    """(K, channels) colours; one channel is each colour's mean."""
    table = torch.tensor(colours, dtype=torch.float32)
    if table.dim() != 2 or table.shape[1] != 3:
        raise ValueError(f"colours must be RGB triples, got {colours}")
    if channels == 1:
        return table.mean(dim=1, keepdim=True)
    if channels != 3:
        raise ValueError(f"coloured stimuli need channels 1 or 3, got {channels}")
    return table


def _channels(grey, channels):
    """(N, S, S) grey images -> (N, channels, S, S) float32."""
    if channels < 1:
        raise ValueError(f"channels must be >= 1, got {channels}")
    return grey[:, None].expand(-1, channels, -1, -1).float().contiguous()
