"""Exercise 10 (lesson 10, weight banding): score how much a conv layer's kernels change along rows.

A k×k kernel w[i, j] (i: row, counting down; j: column) minus its own mean is its *spatial part*:
how it varies across space. Part of that variation may be explained by the row alone (the
row means: horizontal stripes, a kernel that only cares about vertical position) or by the
column alone (the column means: vertical stripes). Banding is the first minus the second.

Work in float64 for the sums. Only torch is needed; the course's own banding tools
(`course.analysis.banding`) are switched off while your code is graded.

Check your work with `python -m course grade ex10`.
"""
import torch


def band_fractions(weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per unit of a layer: the fraction of its spatial variance explained by rows and by columns.

    weights: (C_out, C_in, kh, kw), any floating dtype. Let s be the spatial part of the weights
    (each k×k kernel minus the mean of its own kh*kw entries, so each kernel of s sums to 0).
    For each unit o, with sums over its input channels c and taps i, j:

        total[o]      = Σ_c,i,j s[o, c, i, j]²
        horizontal[o] = Σ_c,i,j (mean over j' of s[o, c, i, j'])² / total[o]     (row means)
        vertical[o]   = Σ_c,i,j (mean over i' of s[o, c, i', j])² / total[o]      (column means)

    Note the sums run over every tap (i, j): a row mean counts once per column of its row.
    The sums are pooled over input channels before dividing (a channel with large weights
    counts more). A unit whose kernels are all constant has total 0: both its fractions are 0.
    Returns (horizontal (C_out,), vertical (C_out,)), float64, each in [0, 1].
    """
    # BEGIN SOLUTION
    w = weights.double()
    s = w - w.mean(dim=(-2, -1), keepdim=True)
    kh, kw = s.shape[-2:]
    total = s.pow(2).sum(dim=(1, 2, 3))
    rows = s.mean(dim=-1).pow(2).sum(dim=(1, 2)) * kw
    columns = s.mean(dim=-2).pow(2).sum(dim=(1, 2)) * kh
    nonzero = total > 0
    safe = torch.where(nonzero, total, torch.ones_like(total))
    return torch.where(nonzero, rows / safe, 0.0), torch.where(nonzero, columns / safe, 0.0)
    # END SOLUTION


def banding_score(weights: torch.Tensor) -> float:
    """The layer's banding, a Python float: mean over units of horizontal minus mean of vertical.

    weights: (C_out, C_in, kh, kw). With (horizontal, vertical) = band_fractions(weights),
    return horizontal.mean() - vertical.mean(). Positive: horizontal bands; negative: vertical
    bands; for independent random weights both fractions are about 1 / (k + 1) and the score
    is near 0.
    """
    # BEGIN SOLUTION
    horizontal, vertical = band_fractions(weights)
    return float(horizontal.mean() - vertical.mean())
    # END SOLUTION
