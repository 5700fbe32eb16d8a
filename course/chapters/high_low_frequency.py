"""High-low frequency detectors: find them, take them apart, and see who uses them (lesson 09).

A high-low frequency detector fires where fine texture (high spatial frequency) meets smooth
content (low frequency) along a boundary of one orientation. Such units come in a *family*:
the same detector at many boundary orientations, together covering all 360°. This file holds
the lesson's analysis, built on the toolkit in `course.analysis`:

1. `layer_tunings` / `high_low_candidates`: each unit's response over (boundary orientation,
   frequency ratio) from the synthetic stimuli of `course.analysis.stimuli.high_low`; a unit is
   a candidate when it prefers a large ratio over ratio 1 and one orientation over the others
   (`HighLowTuning.score`).
2. `orientation_coverage`: how the family's preferred orientations spread around the circle.
3. `family_factors`: one-sided NMF of the family's expanded weights (from an early layer into
   the family's layer) into 2 channel factors, non-negative over the early channels, with
   signed spatial maps per member.
4. `factor_frequency_tuning` / `frequency_index`: what each factor responds to: the
   factor-weighted early channels shown gratings of each frequency, averaged over orientation.
5. `mirror_similarity`: the two factors' spatial maps, one reflected across the boundary.
   (`analyse_factors` runs 3-5 in one call.)
6. `downstream_use`: which later units weigh the family most, and whether they ignore its
   polarity (the same weight for members 180° apart; `polarity_index`).
7. Is it a boundary detector? `boundary_probe` compares a frequency step with no edge against
   an edge with no frequency step; `focus_boundary_share` asks where in the data a unit fires;
   `side_texture_ratio` reads a feature visualisation: is the fine texture on the side the unit
   prefers?
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from course.analysis.expanded_weights import expanded_weights
from course.analysis.families import angle_difference
from course.analysis.nmf import one_sided_nmf
from course.analysis.similarity import cosine_similarity
from course.analysis.dataset_examples import cut_windows, top_windows
from course.analysis.stimuli import colour_contrast, gratings, high_low
from course.analysis.tuning import group_responses, preferred_angle, selectivity, tuning
from course.analysis.units import parse_unit, record_activations, select_unit
from course.data.natural_images import gaussian_blur

HIGH_FREQUENCY = 0.35  # cycles per pixel on the high side of every high-low stimulus
LOW_BAND, HIGH_BAND = 0.1, 0.25  # gratings at or below / at or above these count as low / high frequency


# ---- 1. tuning over (orientation, ratio) and the high-low score ----------------------------------------

@dataclass
class HighLowTuning:
    """One unit's mean response over boundary orientation × frequency ratio, and what it says."""

    unit: str
    orientations_deg: torch.Tensor  # (O,)
    ratios: torch.Tensor  # (R,), ratios[0] == 1: the same frequency on both sides
    responses: torch.Tensor  # (O, R)
    preferred_deg: float  # at the largest ratio
    selectivity: float  # over orientation, at the largest ratio, in [0, 1]
    contrast: float  # (peak at the largest ratio - mean at ratio 1) / peak, clipped to [0, 1]
    peak: float

    @property
    def score(self) -> float:
        """High-low score in [0, 1]: likes a frequency step more than uniform texture, at one orientation."""
        return self.contrast * self.selectivity


def high_low_stimuli(orientations_deg, ratios, phases, size: int = 32):
    """The high-low stimulus grid (every orientation × ratio × phase) and its parameters."""
    return high_low(size=size, orientations_deg=orientations_deg, ratios=ratios, high_frequency=HIGH_FREQUENCY,
                    phases=phases)


def stimulus_grid(fast: bool, size: int, ratios=(1, 2, 4, 8)):
    """The lesson's (orientation × ratio × phase) grid: 16 orientations and 2 phases when fast, else 24 and 4."""
    step, phases = (22.5, (0.0, math.pi)) if fast else (15.0, (0.0, math.pi / 2, math.pi, 1.5 * math.pi))
    return high_low_stimuli([step * k for k in range(int(360 / step))], ratios, phases, size=size)


def high_low_tuning(model, unit: str, images, params) -> HighLowTuning:
    """Tuning of `unit` (at the map's centre) over (orientation, ratio), averaged over phase."""
    values, responses = tuning(model, unit, images, params, over=("orientation", "ratio"), reduce="center",
                               combine="mean")
    return summarise_tuning(unit, values, responses)


def layer_tunings(model, layer: str, images, params) -> list[HighLowTuning]:
    """`high_low_tuning` of every channel of a layer, from one recording of the layer."""
    maps = record_activations(model, images, [layer])[layer]
    return [summarise_tuning(f"{layer}:{c}", *group_responses(select_unit(maps, f"{layer}:{c}"), params,
                                                              ("orientation", "ratio"), combine="mean"))
            for c in range(maps.shape[1])]


def summarise_tuning(unit: str, values, responses: torch.Tensor) -> HighLowTuning:
    """Preferred orientation, selectivity and contrast from an (orientation × ratio) response table."""
    orientations, ratios = values
    if not math.isclose(float(ratios[0]), 1.0):
        raise ValueError("the ratios must start with 1 (the same frequency on both sides), the baseline")
    at_top = responses[:, -1]
    peak = float(at_top.max())
    contrast = (peak - float(responses[:, 0].mean())) / peak if peak > 0 else 0.0
    return HighLowTuning(unit, orientations, ratios, responses, preferred_deg=preferred_angle(orientations, at_top),
                         selectivity=selectivity(orientations, at_top), contrast=min(1.0, max(0.0, contrast)),
                         peak=peak)


def high_low_candidates(tunings: list[HighLowTuning], min_score: float = 0.3,
                        min_peak_fraction: float = 0.05) -> list[HighLowTuning]:
    """Units with score >= min_score whose peak is at least a fraction of the layer's largest peak."""
    largest = max((t.peak for t in tunings), default=0.0)
    return [t for t in tunings if t.score >= min_score and t.peak >= min_peak_fraction * largest]


def silent_units(tunings: list[HighLowTuning]) -> list[str]:
    """Units whose (phase-averaged) response is 0 for every stimulus of the grid: ReLUs that never open."""
    return [t.unit for t in tunings if float(t.responses.max()) <= 0]


# ---- 2. how the family covers the circle ------------------------------------------------------------

def orientation_coverage(angles_deg) -> float:
    """The largest gap (degrees) between neighbouring preferred orientations around the circle."""
    angles = sorted(float(a) % 360 for a in angles_deg)
    if not angles:
        return 360.0
    gaps = [b - a for a, b in zip(angles, angles[1:])] + [angles[0] + 360 - angles[-1]]
    return max(gaps)


def angle_error(a_deg: float, b_deg: float) -> float:
    """|a - b| on the circle, in [0, 180]."""
    return abs(float(angle_difference(a_deg, b_deg)))


# ---- 3. one-sided NMF of the family's expanded weights --------------------------------------------------

@dataclass
class FamilyFactors:
    """The family's expanded weights split into `rank` channel factors and their spatial maps."""

    units: list  # the family's units ("relu3:k")
    expanded: torch.Tensor  # (F, C, kh, kw) from the early layer's channels into each member
    channel: torch.Tensor  # (rank, C) non-negative, unit-norm rows: the channel factors
    spatial: torch.Tensor  # (F, rank, kh, kw) signed: where each member uses each factor
    explained: float  # fraction of the expanded weights' energy the factorisation explains


def family_factors(model, units: list[str], from_layer: str, to_layer: str, rank: int = 2, seed: int = 0,
                   iters: int = 500) -> FamilyFactors:
    """One-sided NMF of the members' expanded weights: rows = (member, position), columns = channels."""
    channels = [parse_unit(u)[1] for u in units]
    expanded = expanded_weights(model, from_layer, to_layer)[channels]  # (F, C, kh, kw)
    f, c, kh, kw = expanded.shape
    V = expanded.permute(0, 2, 3, 1).reshape(f * kh * kw, c)
    W, H = one_sided_nmf(V, rank, iters=iters, seed=seed)
    explained = 1 - float((V - W @ H).pow(2).sum() / V.pow(2).sum().clamp_min(1e-30))
    spatial = W.reshape(f, kh, kw, rank).permute(0, 3, 1, 2)
    return FamilyFactors(list(units), expanded, H, spatial, explained)


# ---- 4. the factors' frequency tuning ----------------------------------------------------------------

def factor_frequency_tuning(model, layer: str, factors: torch.Tensor, frequencies, orientations_deg, phases,
                            size: int = 32) -> torch.Tensor:
    """(rank, n_freq): the centre response of Σ_c factor[c] · layer[c] to gratings, averaged over
    orientation and phase, for each frequency."""
    images, params = gratings(size=size, orientations_deg=orientations_deg, frequencies=frequencies, phases=phases)
    maps = record_activations(model, images, [layer])[layer]
    centre = maps[:, :, maps.shape[-2] // 2, maps.shape[-1] // 2]  # (N, C)
    combined = centre.double() @ factors.double().T  # (N, rank)
    frequencies = torch.as_tensor(frequencies, dtype=params["frequency"].dtype)
    return torch.stack([combined[torch.isclose(params["frequency"], f)].mean(0) for f in frequencies], dim=1)


def frequency_index(frequencies, responses: torch.Tensor) -> torch.Tensor:
    """Per factor, in [-1, 1]: (high-band mean - low-band mean) / (sum); +1 = only high frequencies."""
    frequencies = torch.as_tensor(frequencies, dtype=torch.float64)
    responses = responses.double()
    high = responses[:, frequencies >= HIGH_BAND].mean(1)
    low = responses[:, frequencies <= LOW_BAND].mean(1)
    return (high - low) / (high + low).clamp_min(1e-30)


# ---- 5. mirrored spatial maps -------------------------------------------------------------------------

def reflect_across_boundary(maps: torch.Tensor, theta_deg: float) -> torch.Tensor:
    """Reflect (..., k, k) maps across the line through their centre that separates the two sides of a
    boundary at orientation θ (the line perpendicular to the direction θ; y up on screen)."""
    nx, ny = math.cos(math.radians(theta_deg)), -math.sin(math.radians(theta_deg))  # (columns, rows)
    # r' = r - 2 (n·r) n, in grid_sample's (x = columns, y = rows) coordinates
    matrix = torch.tensor([[1 - 2 * nx * nx, -2 * nx * ny, 0.0], [-2 * nx * ny, 1 - 2 * ny * ny, 0.0]],
                          dtype=torch.float64)
    shape = maps.shape
    flat = maps.reshape(-1, 1, *shape[-2:]).double()
    grid = F.affine_grid(matrix.expand(len(flat), 2, 3), list(flat.shape), align_corners=True)
    return F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=True).reshape(shape)


def mirror_similarity(hf_maps: torch.Tensor, lf_maps: torch.Tensor, orientations_deg) -> torch.Tensor:
    """(F,) cosine between each member's LF map and its HF map reflected across its own boundary."""
    return torch.tensor([cosine_similarity(reflect_across_boundary(h, theta), l)
                         for h, l, theta in zip(hf_maps, lf_maps, orientations_deg)])


# ---- 3-5 together -------------------------------------------------------------------------------------

GRATING_FREQUENCIES = (0.03, 0.05, 0.1, 0.15, 0.25, 0.35, 0.45)


@dataclass
class FactorAnalysis:
    """The family's two factors, which one is high-frequency, and how their spatial maps relate."""

    factors: FamilyFactors
    frequencies: tuple
    frequency_responses: torch.Tensor  # (2, n_freq)
    frequency_index: torch.Tensor  # (2,), +1 = only high frequencies, -1 = only low ones
    hf: int  # index of the high-frequency factor (the larger frequency index)
    lf: int
    mirror: torch.Tensor  # (F,) cosine of each member's LF map with its HF map reflected across the boundary

    @property
    def high_and_low(self) -> bool:
        """True when one factor prefers fine gratings and the other coarse ones (indices of opposite signs).
        Only then may the factors be called HF and LF; otherwise `hf` is merely the finer of the two."""
        return float(self.frequency_index[self.hf]) > 0 > float(self.frequency_index[self.lf])

    def names(self) -> tuple[str, str]:
        """Labels for (factor hf, factor lf): "HF factor"/"LF factor" only when `high_and_low`, otherwise
        neutral names that state each factor's frequency index."""
        if self.high_and_low:
            return "HF factor", "LF factor"
        return tuple(f"factor {i + 1} (frequency index {float(self.frequency_index[k]):+.2f})"
                     for i, k in enumerate((self.hf, self.lf)))


def analyse_factors(model, family: list[HighLowTuning], from_layer: str, to_layer: str, size: int = 32,
                    orientations_deg=tuple(range(0, 180, 15)), phases=(0.0, math.pi / 2, math.pi, 1.5 * math.pi),
                    seed: int = 0) -> FactorAnalysis:
    """One-sided NMF of the family into 2 factors, their frequency tuning, and the mirror test."""
    factors = family_factors(model, [t.unit for t in family], from_layer, to_layer, rank=2, seed=seed)
    responses = factor_frequency_tuning(model, from_layer, factors.channel, GRATING_FREQUENCIES, orientations_deg,
                                        phases, size=size)
    index = frequency_index(GRATING_FREQUENCIES, responses)
    hf = int(index.argmax())
    lf = 1 - hf
    mirror = mirror_similarity(factors.spatial[:, hf], factors.spatial[:, lf], [t.preferred_deg for t in family])
    return FactorAnalysis(factors, GRATING_FREQUENCIES, responses, index, hf, lf, mirror)


# ---- 6. downstream use ---------------------------------------------------------------------------------

def downstream_weights(model, from_layer: str, to_layer: str) -> torch.Tensor:
    """(C_to, C_from): the linearised weight from each unit of from_layer to each of to_layer, summed over space."""
    return expanded_weights(model, from_layer, to_layer).sum(dim=(-2, -1))


def weight_at(angles_deg, weights: torch.Tensor, theta_deg: float) -> torch.Tensor:
    """The members' weights (M,) read at orientation θ by linear interpolation around the circle."""
    angles = torch.as_tensor([float(a) % 360 for a in angles_deg], dtype=torch.float64)
    order = torch.argsort(angles)
    angles, weights = angles[order], weights.double()[order]
    angles = torch.cat([angles[-1:] - 360, angles, angles[:1] + 360])
    weights = torch.cat([weights[-1:], weights, weights[:1]])
    theta = theta_deg % 360
    right = int(torch.searchsorted(angles, torch.tensor([theta], dtype=torch.float64), right=True))
    a0, a1 = float(angles[right - 1]), float(angles[right])
    t = (theta - a0) / (a1 - a0) if a1 > a0 else 0.0
    return weights[right - 1] * (1 - t) + weights[right] * t


def polarity_index(angles_deg, weights: torch.Tensor) -> float | None:
    """Σ|w(θ) − w(θ+180°)| / Σ(|w(θ)| + |w(θ+180°)|) over the members, w(θ+180°) interpolated between
    members: 0 = the same weight for opposite boundaries (polarity ignored), 1 = only one of each pair.
    None for fewer than 2 members."""
    if len(angles_deg) < 2:
        return None
    opposite = torch.stack([weight_at(angles_deg, weights, float(a) + 180) for a in angles_deg])
    w = weights.double()
    total = float((w.abs() + opposite.abs()).sum())
    return float((w - opposite).abs().sum()) / total if total > 0 else None


@dataclass
class DownstreamUse:
    unit: str
    family_share: float  # Σ|w| over the family / Σ|w| over all units of the layer
    weight_ratio: float  # mean |w| to a family member / mean |w| to the layer's other units
    same_sign: float  # fraction of the family's weights that share the most common sign
    polarity_index: float | None  # see `polarity_index`: 0 = polarity ignored


def downstream_use(weights: torch.Tensor, family_channels: list[int], orientations_deg,
                   to_layer: str) -> list[DownstreamUse]:
    """For each later unit (a row of `weights` (C_to, C_from)), how much it uses the family and whether
    polarity matters; sorted by family share, largest first."""
    others = [c for c in range(weights.shape[1]) if c not in set(family_channels)]
    result = []
    for row, w in enumerate(weights.double()):
        family = w[family_channels]
        share = float(family.abs().sum() / w.abs().sum().clamp_min(1e-30))
        ratio = float(family.abs().mean() / w[others].abs().mean().clamp_min(1e-30)) if others else float("inf")
        positive = float((family > 0).double().mean())
        result.append(DownstreamUse(f"{to_layer}:{row}", share, ratio, max(positive, 1 - positive),
                                    polarity_index(orientations_deg, family)))
    return sorted(result, key=lambda d: -d.family_share)


# ---- 7. frequency step or object boundary? ----------------------------------------------------------

@dataclass
class BoundaryProbe:
    """A unit's response to three probes at its preferred orientation θ (the best of the map positions
    within one step of the centre, so that where the boundary falls on the unit's grid does not decide)."""

    unit: str
    orientation_deg: float
    frequency_step: float  # high-low stimulus, largest ratio: the texture changes, the mean colour does not
    uniform_texture: float  # ratio 1: the same texture everywhere, no boundary of any kind
    edge_only: float  # a plain colour edge (no texture) at θ or θ + 180, the best of 3 colour pairs

    @property
    def step_over_uniform(self) -> float:
        """frequency_step / uniform_texture: well above 1 = the unit fires for a change of frequency with no edge."""
        return self.frequency_step / self.uniform_texture if self.uniform_texture > 0 else float("inf")

    @property
    def edge_over_step(self) -> float:
        """edge_only / frequency_step: near 0 = an edge alone does not drive the unit; near 1 = it does, as
        much as a frequency step (the unit is then an edge detector too)."""
        return self.edge_only / self.frequency_step if self.frequency_step > 0 else float("inf")


def boundary_probe(model, unit: str, orientation_deg: float, size: int, ratio: float = 8.0) -> BoundaryProbe:
    """Frequency step without an edge vs edge without a frequency step, at the unit's preferred orientation.

    Responses are averaged over the 4 texture phases for the high-low stimuli, and read as the largest
    value over the 3×3 map positions around the centre (a boundary through the image centre can fall
    between two of the unit's positions).
    """
    layer, channel = parse_unit(unit)
    steps, params = high_low_stimuli([orientation_deg], (1, ratio), (0.0, math.pi / 2, math.pi, 1.5 * math.pi),
                                     size=size)
    edges, _ = colour_contrast(size=size, orientations_deg=[orientation_deg, orientation_deg + 180])
    maps = record_activations(model, torch.cat([steps, edges]), [layer])[layer][:, channel]
    rows, cols = maps.shape[-2] // 2, maps.shape[-1] // 2
    response = maps[:, rows - 1:rows + 2, cols - 1:cols + 2].amax(dim=(-2, -1))
    on_steps, on_edges = response[:len(steps)], response[len(steps):]
    return BoundaryProbe(unit, orientation_deg, float(on_steps[params["ratio"] == ratio].mean()),
                         float(on_steps[params["ratio"] == 1].mean()), float(on_edges.max()))


def mixed_window_share(masks: torch.Tensor, crop: int) -> float:
    """Fraction of all crop × crop windows of masks (N, H, W) (0/1) that hold both values."""
    m = masks.float()[:, None]
    top = F.max_pool2d(m, crop, stride=1)
    bottom = -F.max_pool2d(-m, crop, stride=1)
    return float((top > bottom).double().mean())


def focus_boundary_share(model, unit: str, images: torch.Tensor, in_focus: torch.Tensor, k: int, crop: int):
    """Where in the data does the unit fire? For its k top windows (crop × crop around the peak):
    (crops (k, C, crop, crop), activations (k,), mixed (k,) bool: the window holds in-focus and blurred
    pixels, share of mixed top windows, share of mixed windows among all windows: the chance level)."""
    indices, activations, windows = top_windows(model, unit, images, k=k, crop=crop)
    crops = cut_windows(images[indices], windows, crop)
    masks = cut_windows(in_focus[indices], windows, crop)
    mixed = masks.flatten(1).any(1) & ~masks.flatten(1).all(1)
    return crops, activations, mixed, float(mixed.double().mean()), mixed_window_share(in_focus, crop)


def side_texture_ratio(images: torch.Tensor, orientation_deg: float, radius: float) -> torch.Tensor:
    """(N,): fine-detail energy on the side θ points to / on the other side, inside a disc at the image centre.

    Fine detail = the image minus its blurred self (σ = 1 pixel), squared and summed over channels;
    > 1: the finer texture lies on the side θ points to, as it should for a high-low unit preferring θ.
    """
    size = images.shape[-1]
    offsets = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    y, x = torch.meshgrid(-offsets, offsets, indexing="ij")  # y up, as in the stimuli
    theta = math.radians(orientation_deg)
    u = x * math.cos(theta) + y * math.sin(theta)
    disc = x**2 + y**2 <= radius**2
    pictures = images.double()
    energy = (pictures - gaussian_blur(pictures, 1.0)).pow(2).sum(1)  # (N, S, S)
    fine, other = energy[:, disc & (u > 0.5)].mean(1), energy[:, disc & (u < -0.5)].mean(1)
    return fine / other.clamp_min(1e-12)
