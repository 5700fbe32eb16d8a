"""Mistake: template_responses keeps responses > threshold, dropping the perfect matches that equal it."""
from course.exercises.ex03_motif_detection import *  # noqa: F401,F403  (the correct solutions)

BROKEN = "template_responses"


def template_responses(image, templates, threshold):
    H, W = image.shape
    k = templates.shape[-1]
    p = k // 2
    x_pad = image.new_zeros(H + 2 * p, W + 2 * p)
    x_pad[p:p + H, p:p + W] = image
    response = image.new_zeros(templates.shape[0], H, W)
    for u in range(k):
        for v in range(k):
            response += templates[:, u, v, None, None] * x_pad[None, u:u + H, v:v + W]
    return (response > threshold).to(image.dtype)
