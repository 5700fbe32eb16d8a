"""A second correct solution, written independently of the reference one: it must score full marks.

The table is filled by a loop over a dictionary of cells; the matrix layout by einsum-free
indexing (transpose twice, then flatten); least squares by QR (torch.linalg.lstsq on the
transposed system); the HALS sweep entry by entry from each row's gradient.
"""
import math

import torch

BROKEN = None


def tuning_table(responses, orientations, frequencies):
    best = {}
    for value, o, f in zip(responses.tolist(), orientations.tolist(), frequencies.tolist()):
        best[o, f] = max(best.get((o, f), -math.inf), value)
    o_values, f_values = sorted({o for o, _ in best}), sorted({f for _, f in best})
    table = [[best.get((o, f), math.nan) for f in f_values] for o in o_values]
    return (torch.tensor(o_values, dtype=orientations.dtype), torch.tensor(f_values, dtype=frequencies.dtype),
            torch.tensor(table, dtype=responses.dtype))


def expanded_weight_matrix(expanded):
    channels = expanded.shape[1]
    return expanded.transpose(1, 2).transpose(2, 3).contiguous().view(-1, channels)


def least_squares_spatial(V, H):
    return torch.linalg.lstsq(H.T, V.T).solution.T.contiguous()


def update_channel_factors(V, W, H):
    rows = [row.clone() for row in H]
    for r in range(len(rows)):
        column = W[:, r]
        length = float(column @ column)
        if length == 0:
            continue
        fit = sum(W[:, s:s + 1] * rows[s][None, :] for s in range(len(rows)))
        gradient = column @ (V - fit)
        rows[r] = torch.clamp(rows[r] + gradient / length, min=0.0)
    return torch.stack(rows)


def one_sided_nmf(V, H0, iters):
    H = H0.clone()
    for _ in range(iters):
        W = least_squares_spatial(V, H)
        H = update_channel_factors(V, W, H)
    return least_squares_spatial(V, H), H
