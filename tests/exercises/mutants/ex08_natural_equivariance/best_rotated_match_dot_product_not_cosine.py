"""Mistake: best_rotated_match ranks by the plain dot product, so a unit with larger weights wins over a better match."""
import math

from course.exercises.ex08_natural_equivariance import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "best_rotated_match"


def best_rotated_match(weights, unit, angles_deg):
    best = (-1, 0.0, -math.inf, 0.0)
    for a in angles_deg:
        turned = rotate_kernel(weights[unit], a).flatten()  # noqa: F405
        for j in range(len(weights)):
            if j == unit:
                continue
            dot = float(turned @ weights[j].flatten())
            if dot > best[2]:
                norm = float(turned.norm() * weights[j].norm())
                best = (j, float(a), dot, dot / norm if norm > 0 else 0.0)
    return best[0], best[1], best[3]
