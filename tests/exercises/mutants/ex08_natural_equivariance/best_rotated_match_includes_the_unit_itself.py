"""Mistake: best_rotated_match compares the unit with itself too, so angle 0 and the unit itself always win."""
import math

from course.exercises.ex08_natural_equivariance import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "best_rotated_match"


def best_rotated_match(weights, unit, angles_deg):
    best = (-1, 0.0, -math.inf)
    for a in angles_deg:
        turned = rotate_kernel(weights[unit], a).flatten()  # noqa: F405
        for j in range(len(weights)):
            norm = turned.norm() * weights[j].norm()
            cosine = float(turned @ weights[j].flatten() / norm) if norm > 0 else 0.0
            if cosine > best[2]:
                best = (j, float(a), cosine)
    return best
