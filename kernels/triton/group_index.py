"""Group arithmetic and the expanded-filter address, as Triton index arithmetic.

The fused group-convolution kernels never build the expanded filter bank of kernels/group_reference.py;
they read each of its entries straight from the small parameter tensor. These helpers say where.

Group elements (kernels/groups.py): g = 4*flip + turns, "flip `flip` times (last axis), then rot90
`turns` times". p4 is the flip = 0 half, with the same numbers, so one formula serves G = 4 and 8.

  product   (f1, t1)·(f2, t2) = (f1 XOR f2,  t1 + (-1)^f1 · t2  mod 4)
  inverse   (f, t)⁻¹          = (f, t) if f = 1 (a mirror undoes itself), else (0, -t mod 4)

-t mod 4 is written 4 - t, then mod 4: compiled Triton and the interpreter disagree on the sign of
% for negative numbers, so every % here sees a non-negative left side.

Transformed filters. Write the k×k filter pixel (u, v) (row, column). torch.rot90 turns counter-
clockwise: rot90(w)[u, v] = w[v, k-1-u], and the flip is flip(w)[u, v] = w[u, k-1-v]. So g·w, which
flips first and turns second, reads

  (g·w)[u, v] = w[source_pixel(g, u, v)],   source_pixel = flip^f ∘ rot^t, with
    rot^0 (u, v) = (u, v)           rot^1 (u, v) = (v, k-1-u)
    rot^2 (u, v) = (k-1-u, k-1-v)   rot^3 (u, v) = (k-1-v, u)
    flip  (u, v) = (u, k-1-v)

(an odd number of turns swaps row and column; turns 2, 3 mirror the row and turns 1, 2 the
column). Conversely w[u, v] lands at pixel source_pixel(g⁻¹, u, v) of g·w: the weight gradient
kernel uses that direction.

Expanded filter entry (group_reference.py): output column (o, g), reduction index (i, e, u, v), with e
the input's group element (the h of DESIGN.md's g⁻¹h; here h is an image row):

  lifting      expanded[o*G + g, i, u, v]       = w[o, i, source_pixel(g, u, v)]
  group conv   expanded[o*G + g, i*G + e, u, v] = w[o, i, g⁻¹·e, source_pixel(g, u, v)]
"""
from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def group_multiply(g, e):
    """g·e: first e, then g."""
    g_flip = g // 4
    g_turns = g % 4
    e_flip = e // 4
    e_turns = e % 4
    e_turns_seen = tl.where(g_flip == 1, 4 - e_turns, e_turns)  # (-1)^g_flip · e_turns, kept >= 0
    return 4 * (g_flip ^ e_flip) + (g_turns + e_turns_seen) % 4


@triton.jit
def group_inverse(g):
    """g⁻¹."""
    flip = g // 4
    turns = g % 4
    return tl.where(flip == 1, g, (4 - turns) % 4)


@triton.jit
def source_pixel(g, u, v, k):
    """(row, column) of w that pixel (u, v) of g·w shows; k is the filter size."""
    flip = g // 4
    turns = g % 4
    swapped = (turns % 2) == 1
    row = tl.where(swapped, v, u)
    column = tl.where(swapped, u, v)
    row = tl.where(turns >= 2, k - 1 - row, row)
    column = tl.where((turns == 1) | (turns == 2), k - 1 - column, column)
    column = tl.where(flip == 1, k - 1 - column, column)
    return row, column


@triton.jit
def expanded_filter_offset(o, i, g, e, u, v, CIN, k, G: tl.constexpr, LIFTING: tl.constexpr):
    """Offset in w of the expanded filter entry for output column (o, g) and reduction index (i, e, u, v).

    Lifting: w is (COUT, CIN, k, k) and e is ignored. Group conv: w is (COUT, CIN, G, k, k).
    The arguments broadcast against each other, so one call fills a whole tile of addresses.
    """
    row, column = source_pixel(g, u, v, k)
    if LIFTING:
        return ((o * CIN + i) * k + row) * k + column
    else:
        e_source = group_multiply(group_inverse(g), e)
        return (((o * CIN + i) * G + e_source) * k + row) * k + column
