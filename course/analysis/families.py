"""Families of units: units that are rotated, mirrored or recoloured copies of one another.

Angles are degrees, counter-clockwise as seen on screen (x right, y up; row index grows down).

From weights: turn one unit's k×k weights by every angle (bilinear interpolation inside the
kernel's disc) and keep the angle where they best match another unit's weights (cosine).
Mirror = flip left-right, then turn; hue = rotate the colours about the grey axis (120° is
the R→G→B cycle). A family is a set of units in which every member matches every other one
above a threshold, with angles that add up; each member has its offset from the family's
first unit. Units that look alike at every angle (spots, flat colour) match everything about
equally: `transform_selectivity` measures how much a kernel changes when it turns.

From responses: compare orientation tuning curves up to a circular shift (`tuning_offsets`),
and the *rotation test*: rotate the images that excite one member by another member's offset
and check that the other member now responds as the first did (`rotation_test`).

Circuits: the weights from a family to downstream units, as a function of relative angle
(`relative_orientation_profile`), and whether a set of kernels are one pattern turned to each
member's angle (`rotation_consistency`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from course.analysis.hue_rotation import rotate_hue


def rotate_image(x: torch.Tensor, degrees, centre: tuple[float, float] | None = None) -> torch.Tensor:
    """Turn (..., H, W) counter-clockwise by `degrees` about `centre` (row, col) with bilinear
    interpolation; what comes from outside is 0. `degrees`: a number, or one per leading item (B,)
    when x is (B, ..., H, W). Default centre: the middle ((H-1)/2, (W-1)/2)."""
    h, w = x.shape[-2:]
    cr, cc = centre if centre is not None else ((h - 1) / 2, (w - 1) / 2)
    t = torch.deg2rad(torch.as_tensor(degrees, dtype=torch.float32)).reshape(-1)
    lead = x.shape[:-2]
    batch = x.reshape(len(t), -1, h, w) if len(t) > 1 else x.reshape(1, -1, h, w)
    rows, cols = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                                indexing="ij")
    px, py = cols - cc, cr - rows  # screen coordinates of each output pixel
    cos, sin = torch.cos(t)[:, None, None], torch.sin(t)[:, None, None]
    sx, sy = cos * px + sin * py, -sin * px + cos * py  # where it comes from: turned back by -θ
    grid = torch.stack([2 * (cc + sx) / max(w - 1, 1) - 1, 2 * (cr - sy) / max(h - 1, 1) - 1], dim=-1)
    out = F.grid_sample(batch.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return out.reshape(*lead, h, w).to(x.dtype)


def disc_mask(k: int) -> torch.Tensor:
    """(k, k) bool: the taps within (k-1)/2 + 1/2 of the centre, the part of a kernel that survives turning."""
    offsets = torch.arange(k, dtype=torch.float32) - (k - 1) / 2
    return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= ((k - 1) / 2 + 0.5) ** 2


def transformed_copies(w: torch.Tensor, transform: str, offsets: torch.Tensor) -> torch.Tensor:
    """(C, k, k) weights of one unit -> (len(offsets), C, k, k): the unit under each transformation.

    transform: "rotation" (turn by offset degrees), "reflection" (mirror left-right, then turn),
    "hue" (rotate colours about grey by offset degrees; C must be 3)."""
    n = len(offsets)
    if transform == "hue":
        return torch.stack([rotate_hue(w, float(a)) for a in offsets])
    if transform == "reflection":
        w = torch.flip(w, dims=(-1,))
    elif transform != "rotation":
        raise ValueError(f"transform must be 'rotation', 'reflection' or 'hue', got {transform!r}")
    return rotate_image(w[None].expand(n, *w.shape), offsets)


def match_matrix(weights: torch.Tensor, transform: str = "rotation", step: float = 1.0):
    """Best match of every unit's transformed weights onto every other unit's weights.

    weights (U, C, k, k) -> (cosine (U, U), offset (U, U)): cosine[i, j] = max over the offset t
    of cos(T_t(w_i), w_j), within the kernel's disc; offset[i, j] = that t in [0, 360).
    The diagonal is the unit against itself (cosine 1 at offset 0 for rotation and hue)."""
    offsets = torch.arange(0.0, 360.0, step)
    mask = disc_mask(weights.shape[-1]) if transform != "hue" else torch.ones(weights.shape[-2:], dtype=torch.bool)
    targets = (weights * mask).flatten(1)
    targets = targets / targets.norm(dim=1, keepdim=True).clamp_min(1e-12)
    cosine, offset = torch.zeros(len(weights), len(weights)), torch.zeros(len(weights), len(weights))
    for i, w in enumerate(weights):
        copies = (transformed_copies(w, transform, offsets) * mask).flatten(1)
        copies = copies / copies.norm(dim=1, keepdim=True).clamp_min(1e-12)
        scores = copies @ targets.T  # (offsets, U)
        best, index = scores.max(dim=0)
        cosine[i], offset[i] = best, offsets[index]
    return cosine, offset


def transform_selectivity(weights: torch.Tensor, transform: str = "rotation", step: float = 10.0) -> torch.Tensor:
    """(U, C, k, k) -> (U,): the share of each kernel that changes under a transformation, in [0, 1].

    1 - the mean over t = 0°, step, ..., 360° of cos(w, T_t(w)), where T_t turns the kernel
    ("rotation", within its disc) or turns its colours about the grey axis ("hue"). The mean is
    the share of the kernel that every T_t leaves alone: its round part for rotation, its grey
    part for hue. A spot or a flat patch looks the same at every angle and scores near 0 for
    rotation, an edge near 1; a grey kernel scores near 0 for hue. Such a unit matches every
    transformed copy of a similar unit about equally well, so it is no evidence of a family
    (lesson 08 leaves units below 0.5 out of that kind of family)."""
    offsets = torch.arange(0.0, 360.0, step)
    mask = disc_mask(weights.shape[-1]) if transform == "rotation" else torch.ones(weights.shape[-2:], dtype=torch.bool)
    scores = []
    for w in weights:
        copies = (transformed_copies(w, transform, offsets) * mask).flatten(1)
        target = (w * mask).flatten()
        cosine = copies @ target / (copies.norm(dim=1) * target.norm()).clamp_min(1e-12)
        scores.append((1 - cosine.mean()).clamp(0, 1))
    return torch.stack(scores)


def find_families(weights: torch.Tensor, transform: str = "rotation", threshold: float = 0.9,
                  min_size: int = 2, step: float = 1.0, units=None, tolerance_deg: float | None = None) -> list[dict]:
    """Groups of units that are `transform`ed copies of one another, from their weights.

    A family is a set in which EVERY member matches every other one (the best transformation
    maps each onto the other with cosine >= threshold, both ways) and the angles agree: going
    from a to b and then from b to c lands where going from a to c does (within tolerance_deg,
    default max(10°, 3 steps)). Pairs that merely chain (a like b, b like c, a unlike c) do not
    make a family. Families are grown greedily from the best-matching pair, and a unit belongs
    to at most one. "reflection" gives pairs only (a mirror image of a mirror image is a plain
    rotation, so a larger "mirror family" would be a rotation family in disguise), and a pair
    only counts when no plain rotation explains it as well. Each family: {"units": [...]
    ascending, "offsets": degrees from the first unit to each member (for "reflection": the
    turn after mirroring the first unit; its own entry is 0), "cosine": the weakest match
    between two members}. units: the unit numbers of the rows (default 0..U-1)."""
    units = list(range(len(weights))) if units is None else list(units)
    cosine, offset = match_matrix(weights, transform, step)
    linked = torch.minimum(cosine, cosine.T) >= threshold
    if transform == "reflection":
        linked &= cosine > match_matrix(weights, "rotation", step)[0] + 0.05
    tolerance = max(10.0, 3 * step) if tolerance_deg is None else tolerance_deg
    return _agreeing_families(linked, cosine, offset, units, min_size, tolerance,
                              max_size=2 if transform == "reflection" else None,
                              first_offset_zero=transform == "reflection")


def find_families_from_tuning(curves: torch.Tensor, angles_deg: torch.Tensor, threshold: float = 0.9,
                              min_size: int = 2, units=None, tolerance_deg: float | None = None) -> list[dict]:
    """Rotation families from responses: units whose orientation tuning curves (U, A) match up to
    a circular shift with correlation >= threshold, every member with every other, with
    shifts that add up (as in `find_families`; default tolerance: 1.5 angle steps). Same
    output as `find_families`; the "cosine" entry is the weakest tuning-curve correlation.

    Beware: any two single-bump curves of similar width match well after a shift, so matching
    curves are weak evidence on their own (compare with the share of all pairs that match)."""
    units = list(range(len(curves))) if units is None else list(units)
    offset, correlation = tuning_offsets(curves, angles_deg)
    linked = torch.minimum(correlation, correlation.T) >= threshold
    tolerance = 1.5 * float(angles_deg[1] - angles_deg[0]) if tolerance_deg is None else tolerance_deg
    return _agreeing_families(linked, correlation, offset, units, min_size, tolerance)


def _agreeing_families(linked, score, offset, units, min_size, tolerance, max_size=None,
                       first_offset_zero=False) -> list[dict]:
    """Greedy families of a (U, U) link table: every pair of members linked, offsets that add up.

    Start from the best-scoring linked pair of units not yet in a family; add the unit whose
    weakest score to the members is highest, while it is linked to all of them and its offsets
    agree with theirs; repeat until no linked pair is left."""
    pair_score = torch.minimum(score, score.T).clone()
    linked = linked.clone()
    linked.fill_diagonal_(False)
    linked &= linked.T.clone()
    free, families = set(range(len(units))), []

    def agrees(members, m):
        return all(abs(float(angle_difference(offset[i, j] + offset[j, m], offset[i, m]))) <= tolerance
                   for i in members for j in members if i != j)

    while True:
        pairs = [(pair_score[i, j].item(), i, j) for i in free for j in free if i < j and linked[i, j]]
        if not pairs:
            break
        _, i, j = max(pairs)
        members = [i, j]
        while max_size is None or len(members) < max_size:
            candidates = [(min(pair_score[m, c].item() for c in members), m) for m in free - set(members)
                          if all(linked[m, c] for c in members) and agrees(members, m)]
            if not candidates:
                break
            members.append(max(candidates)[1])
        free -= set(members)
        if len(members) >= min_size:
            members.sort()
            ref = members[0]
            weakest = min(pair_score[a, b].item() for a in members for b in members if a != b)
            offsets = [0.0 if m == ref and first_offset_zero else float(offset[ref, m]) for m in members]
            families.append({"units": [units[m] for m in members], "offsets": offsets, "cosine": weakest})
    return sorted(families, key=lambda f: f["units"][0])


def angle_difference(a, b) -> torch.Tensor:
    """a - b wrapped into [-180, 180) degrees (elementwise)."""
    return (torch.as_tensor(a, dtype=torch.float32) - torch.as_tensor(b, dtype=torch.float32) + 180) % 360 - 180


def tuning_offsets(curves: torch.Tensor, angles_deg: torch.Tensor):
    """Compare tuning curves up to a circular shift: (offset (U, U), correlation (U, U)).

    curves (U, A): responses at A equally spaced angles over 360°. offset[i, j] is the shift
    (degrees) that best carries curve i onto curve j; correlation[i, j] the Pearson correlation there."""
    step = float(angles_deg[1] - angles_deg[0])
    centred = curves - curves.mean(dim=1, keepdim=True)
    centred = centred / centred.norm(dim=1, keepdim=True).clamp_min(1e-12)
    shifted = torch.stack([torch.roll(centred, s, dims=1) for s in range(curves.shape[1])])  # (A, U, A)
    scores = torch.einsum("sia,ja->sij", shifted, centred)
    best, index = scores.max(dim=0)
    return (index.float() * step) % 360, best


@torch.no_grad()
def rotation_test(model, unit: str, other: str, offset_deg: float, images: torch.Tensor, k: int = 64) -> dict:
    """The rotation test: does `other` respond to turned stimuli as `unit` does to the originals?

    Take the k images (from `images`, (N, C, S, S)) that most excite `unit` at the centre, turn
    them by offset_deg about the centre pixel, and read `other` at the centre. Returns
    {"correlation": Pearson r over the k stimuli of unit(x) vs other(turned x),
     "unrotated_correlation": the same without turning (the control: should be lower),
     "response_ratio": mean other(turned x) / mean unit(x),
     "responses": (unit(x) (k,), other(turned x) (k,)) for plotting}."""
    from course.analysis.units import unit_response

    s = images.shape[-1]
    first = unit_response(model, images, unit, reduce="center")
    top = first.topk(min(k, len(images))).indices
    stimuli, expected = images[top], first[top]
    turned = rotate_image(stimuli, offset_deg, centre=(s // 2, s // 2))
    got = unit_response(model, turned, other, reduce="center")
    unturned = unit_response(model, stimuli, other, reduce="center")
    return {"correlation": _pearson(expected, got), "unrotated_correlation": _pearson(expected, unturned),
            "response_ratio": (got.mean() / expected.mean().clamp_min(1e-12)).item(), "responses": (expected, got)}


@torch.no_grad()
def rotated_stimulus_responses(model, units: list[str], stimuli: torch.Tensor, angles_deg: torch.Tensor) -> torch.Tensor:
    """(U, A): each unit's mean centre response to the stimuli (N, C, S, S) turned by each angle
    about the centre pixel. With one fixed stimulus (a step edge, a grating) these are
    orientation tuning curves; with one unit's favourite images, they show which angle makes
    each other unit respond to them."""
    from course.analysis.units import record_activations, select_unit

    s = stimuli.shape[-1]
    n, a = len(stimuli), len(angles_deg)
    turned = rotate_image(stimuli.repeat(a, 1, 1, 1), torch.as_tensor(angles_deg).float().repeat_interleave(n),
                          centre=(s // 2, s // 2))
    layers = sorted({unit.split(":")[0] for unit in units})
    maps = record_activations(model, turned, layers)
    return torch.stack([select_unit(maps[unit.split(":")[0]], unit).reshape(a, n).mean(dim=1) for unit in units])


def _pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a - a.mean(), b - b.mean()
    return (a @ b / (a.norm() * b.norm()).clamp_min(1e-12)).item()


def relative_orientation_profile(values: torch.Tensor, source_angles, target_angles, bin_deg: float = 45.0):
    """Weight as a function of relative orientation, from a (targets, sources) table of connection strengths.

    values[t, s]: e.g. the centre weight from source unit s to target unit t. Pairs are binned by
    (source angle - target angle) mod 360 into bins of bin_deg centred on 0, bin_deg, ... Returns
    (bin centres (B,), mean value per bin (B,), relative residual): the residual is the spread of
    the values around their bin means over the spread of all values: 0 when the weight depends on
    the relative angle only (a circulant wiring)."""
    relative = (torch.as_tensor(source_angles)[None, :] - torch.as_tensor(target_angles)[:, None]) % 360
    bins = torch.round(relative / bin_deg).long() % round(360 / bin_deg)
    centres = torch.arange(round(360 / bin_deg)) * bin_deg
    means = torch.stack([values[bins == b].mean() if (bins == b).any() else torch.tensor(float("nan"))
                         for b in range(len(centres))])
    residual = (values - means[bins]).norm() / (values - values.mean()).norm().clamp_min(1e-12)
    return centres.float(), means, residual.item()


def kernel_direction(kernels: torch.Tensor) -> torch.Tensor:
    """(U, k, k) -> (U,) degrees: the direction in which each kernel leans (its first moment sum w·(x, y))."""
    k = kernels.shape[-1]
    offsets = torch.arange(k, dtype=torch.float32) - (k - 1) / 2
    x, y = offsets[None, :].expand(k, k), -offsets[:, None].expand(k, k)
    mx, my = (kernels * x).sum(dim=(-2, -1)), (kernels * y).sum(dim=(-2, -1))
    return torch.rad2deg(torch.atan2(my, mx)) % 360


def rotation_consistency(kernels: torch.Tensor, angles_deg) -> dict:
    """Are these kernels one pattern turned to each member's angle? (U, k, k) with U angles.

    Compares each kernel's lean (kernel_direction) with its angle: returns {"offset_deg": the
    circular mean of direction - angle, "spread_deg": the largest deviation from that offset
    (0 when the pattern turns exactly with the angle)}."""
    difference = torch.deg2rad(angle_difference(kernel_direction(kernels), angles_deg))
    mean = torch.atan2(torch.sin(difference).mean(), torch.cos(difference).mean())
    spread = angle_difference(torch.rad2deg(difference), torch.rad2deg(mean)).abs().max()
    return {"offset_deg": float(torch.rad2deg(mean) % 360), "spread_deg": float(spread)}


def compare_with_truth(families: list[dict], units: list[int], offsets) -> dict:
    """How well the found family that overlaps most with a known one matches it.

    Returns {"wrong_units": units missing from it plus units wrongly in it (0 = exact),
    "angle_error_deg": largest |found offset - true offset| over the shared units, with the
    offsets re-referenced to the first shared unit}."""
    best = max(families, key=lambda f: len(set(f["units"]) & set(units)), default={"units": [], "offsets": []})
    shared = [u for u in best["units"] if u in units]
    wrong = len(set(units) ^ set(best["units"]))
    if not shared:
        return {"wrong_units": wrong, "angle_error_deg": float("inf")}
    found = torch.tensor([best["offsets"][best["units"].index(u)] for u in shared])
    true = torch.tensor([float(offsets[list(units).index(u)]) for u in shared])
    error = angle_difference(found - found[0], true - true[0]).abs().max()
    return {"wrong_units": wrong, "angle_error_deg": float(error)}
