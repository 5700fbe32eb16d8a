"""Exercise 08 (lesson 08, naturally occurring equivariance): find units that are turned copies of each other.

Two routes to a rotation family. From the weights: turn one unit's kernel by an angle and look
for the unit whose kernel it now matches best. From the responses: two units of a family have
the same orientation tuning curve, shifted by the angle between them.

Angles are degrees, counter-clockwise as seen on screen: x points right, y points up, and the
row index grows downwards. A k×k kernel turns about its centre c = (k - 1) / 2; the tap in row
i, column j sits at x = j - c, y = c - i.

Only torch is needed (torch.nn.functional.grid_sample is allowed). The tests pass float64
tensors and expect float64 accuracy: compute in the inputs' dtype, not in float32. The
course's own family tools (`course.analysis.families`) are switched off while your code is graded.

Check your work with `python -m course grade ex08`.
"""
import math

import torch
import torch.nn.functional as F


def rotate_kernel(w: torch.Tensor, degrees: float) -> torch.Tensor:
    """Turn every k×k kernel in w (shape (..., k, k)) counter-clockwise by `degrees` about its centre.

    Output tap (i, j), at x = j - c, y = c - i, takes its value from the point the turn carries
    onto it, which is (x, y) turned back by -degrees:

        x' =  cos(t) x + sin(t) y,    y' = -sin(t) x + cos(t) y     (t = degrees in radians)

    read at row c - y', column c + x' by bilinear interpolation of the four taps around that
    point, where a tap outside the kernel counts as 0 (so what comes from outside is 0). At a
    multiple of 90 degrees this is torch.rot90(w, degrees // 90, dims=(-2, -1)) up to rounding.
    Same shape and dtype as w.
    """
    # BEGIN SOLUTION
    k = w.shape[-1]
    c = (k - 1) / 2
    t = math.radians(degrees)
    offsets = torch.arange(k, dtype=w.dtype) - c
    y, x = -offsets[:, None].expand(k, k), offsets[None, :].expand(k, k)
    source_x = math.cos(t) * x + math.sin(t) * y
    source_y = -math.sin(t) * x + math.cos(t) * y
    # grid_sample with align_corners=True reads pixel centres at -1 .. 1: column c + x' -> x' / c
    scale = max(c, 0.5)  # k = 1: the only tap is the centre, and the grid point lands on it
    grid = torch.stack([source_x / scale, -source_y / scale], dim=-1)[None]
    flat = w.reshape(1, -1, k, k)
    turned = F.grid_sample(flat, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return turned.reshape(w.shape)
    # END SOLUTION


def best_rotated_match(weights: torch.Tensor, unit: int, angles_deg) -> tuple[int, float, float]:
    """The rotation test on weights: which other unit is `unit` turned by some angle?

    weights: (U, C, k, k), one kernel stack per unit; unit: a row of it; angles_deg: a list of
    angles. For every angle a (in the list's order) and every other unit j != unit (ascending),
    compute the cosine similarity between rotate_kernel(weights[unit], a) and weights[j], both
    flattened to vectors (a zero vector has cosine 0 with anything). Return (j, a, cosine) of the
    largest cosine, as (int, float, float); on a tie, the first pair in that order wins.
    """
    # BEGIN SOLUTION
    best = (-1, 0.0, -math.inf)
    others = [j for j in range(len(weights)) if j != unit]
    targets = weights[others].flatten(1)
    target_norms = targets.norm(dim=1)
    for a in angles_deg:
        turned = rotate_kernel(weights[unit], a).flatten()
        norms = turned.norm() * target_norms
        cosines = torch.where(norms > 0, targets @ turned / torch.where(norms > 0, norms, 1.0), 0.0)
        index = int(torch.argmax(cosines))  # the first maximum
        if cosines[index] > best[2]:
            best = (others[index], float(a), float(cosines[index]))
    return best
    # END SOLUTION


def tuning_offset(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """How far curve a must move to lie on curve b: (offset_deg, correlation), as Python floats.

    a, b: (A,) tuning curves of two units, responses at the A angles n * 360 / A (n = 0..A-1).
    For each shift s = 0..A-1, compare torch.roll(a, s) (a moved s steps towards larger angles)
    with b by their Pearson correlation (a constant curve has correlation 0 with anything). Return
    (s * 360 / A, correlation) for the s with the largest correlation; on a tie, the smallest s.
    """
    # BEGIN SOLUTION
    n = len(a)
    a = a.double() - a.double().mean()
    b = b.double() - b.double().mean()
    norm = a.norm() * b.norm()
    if norm == 0:
        return 0.0, 0.0
    scores = torch.stack([torch.roll(a, s) @ b for s in range(n)]) / norm
    s = int(torch.argmax(scores))
    return s * 360.0 / n, float(scores[s])
    # END SOLUTION


def family_from_tuning(curves: torch.Tensor, unit: int, threshold: float) -> list[tuple[int, float]]:
    """The rotation family of `unit` read off tuning curves: [(member, offset_deg), ...].

    curves: (U, A), one tuning curve per unit as in tuning_offset. A unit j (unit itself
    included) is a member when tuning_offset(curves[unit], curves[j]) has correlation >=
    threshold; its entry is (j, that offset). Return the members sorted by offset, then by j.
    """
    # BEGIN SOLUTION
    members = []
    for j in range(len(curves)):
        offset, correlation = tuning_offset(curves[unit], curves[j])
        if correlation >= threshold:
            members.append((j, offset))
    return sorted(members, key=lambda member: (member[1], member[0]))
    # END SOLUTION
