"""A second correct solution, written independently of the reference one: it must score full marks.

Windows are gathered tap by tap with slices and stacked along the last axis; the score
takes max and argmax separately; the gradient gathers the winning windows with one
advanced index; the template maps add the templates' taps with einsum over shifted views.
"""
import torch

BROKEN = None


def sliding_windows(x, k):
    count = len(x) - k + 1
    return torch.stack([x[j:j + count] for j in range(k)], dim=1)


def motif_score(x, w):
    k = len(w)
    count = x.shape[1] - k + 1
    scores = sum(w[j] * x[:, j:j + count] for j in range(k))  # (N, count)
    return scores.amax(dim=1), scores.argmax(dim=1)


def motif_score_gradient(x, w):
    _, positions = motif_score(x, w)
    rows = torch.arange(x.shape[0])[:, None]
    winners = x[rows, positions[:, None] + torch.arange(len(w))]  # (N, k)
    return winners.sum(dim=0)


def template_responses(image, templates, threshold):
    k = templates.shape[-1]
    p = k // 2
    H, W = image.shape
    padded = torch.nn.functional.pad(image, (p, p, p, p))
    views = torch.stack([padded[u:u + H, v:v + W] for u in range(k) for v in range(k)])  # (k*k, H, W)
    response = torch.einsum("tq,qhw->thw", templates.reshape(len(templates), -1), views)
    return torch.where(response >= threshold, torch.ones_like(response), torch.zeros_like(response))
