"""Exercise 07 (lesson 07, group convolution): build the tied filter banks of p4 / p4m yourself.

Conventions (DESIGN.md, "Group conventions"): the p4 element r (0..3) acts on an image by
`torch.rot90(x, r, dims=(-2, -1))` (counter-clockwise as displayed); the p4m element g = 4*m + r
is "flip m times, then rotate r times", the flip being `torch.flip(x, dims=(-1,))`.

torch.rot90, torch.flip, torch.roll, stack, cat, reshape and indexing are all allowed. The
course's own group convolutions (`kernels.p4_lift` and friends, `kernels.group_reference`), the
actions in `kernels.groups` and `torch.nn.functional.max_pool3d` are switched off while your
code is graded. The tests check each bank by the layer it makes: F.conv2d with your bank
against the same layer computed by turning the input instead of the filter.

Check your work with `python -m course grade ex07`.
"""
import torch
import torch.nn.functional as F


def rotate_filters(w: torch.Tensor, r: int) -> torch.Tensor:
    """Rotate every k×k image in w (shape (..., k, k)) by r quarter turns counter-clockwise.

    r is any int (taken mod 4). Returns a tensor of w's shape and dtype equal to
    torch.rot90(w, r, dims=(-2, -1)): entry [i, j] of a rotated k×k filter is w[j, k-1-i].
    """
    # BEGIN SOLUTION
    return torch.rot90(w, r % 4, dims=(-2, -1))
    # END SOLUTION


def flip_then_rotate(w: torch.Tensor, g: int) -> torch.Tensor:
    """Apply the p4m element g = 4*m + r (0 <= g < 8) to every k×k image in w (shape (..., k, k)).

    First flip m times left-right (reverse the last axis), then rotate r quarter turns
    counter-clockwise as in rotate_filters. Shape and dtype of w are kept.
    """
    # BEGIN SOLUTION
    m, r = divmod(g, 4)
    if m:
        w = torch.flip(w, dims=(-1,))
    return rotate_filters(w, r)
    # END SOLUTION


def p4_lift_filter_bank(w: torch.Tensor) -> torch.Tensor:
    """The tied filter bank of a p4 lifting layer: (Cout, Cin, k, k) -> (Cout*4, Cin, k, k).

    Row o*4 + r of the result is w[o] rotated by r quarter turns (rotate_filters(w[o], r)),
    so F.conv2d with this bank, reshaped to (N, Cout, 4, H', W'), is the lifting layer.
    """
    # BEGIN SOLUTION
    cout, cin, k, _ = w.shape
    copies = torch.stack([rotate_filters(w, r) for r in range(4)], dim=1)  # (Cout, 4, Cin, k, k)
    return copies.reshape(cout * 4, cin, k, k)
    # END SOLUTION


def p4_conv_filter_bank(w: torch.Tensor) -> torch.Tensor:
    """The tied filter bank of a p4 group convolution: (Cout, Cin, 4, k, k) -> (Cout*4, Cin*4, k, k).

    Entry [o*4 + r, i*4 + h] is w[o, i, (h - r) mod 4] rotated by r quarter turns: the output
    pose r sees the filter turned by r, and its group axis rolled forward by r. With the input
    group feature map (N, Cin, 4, H, W) reshaped to (N, Cin*4, H, W), F.conv2d with this bank is
    the group convolution.
    """
    # BEGIN SOLUTION
    cout, cin, order, k, _ = w.shape
    copies = [rotate_filters(torch.roll(w, shifts=r, dims=2), r) for r in range(4)]  # roll: [h] <- [h - r]
    return torch.stack(copies, dim=1).reshape(cout * 4, cin * order, k, k)
    # END SOLUTION


def rotate_feature_map(f: torch.Tensor, r: int) -> torch.Tensor:
    """The p4 rotation r acting on a group feature map f of shape (N, C, 4, H, W), H == W.

    Returns u·f with (u·f)[:, :, g] = rotate_filters(f[:, :, (g - r) mod 4], r): every map is
    rotated by r quarter turns AND the group axis is rolled forward by r. This is what a p4
    lifting layer does to its output when its input is rotated by r.
    """
    # BEGIN SOLUTION
    return rotate_filters(torch.roll(f, shifts=r % 4, dims=2), r)
    # END SOLUTION


def group_pool(f: torch.Tensor) -> torch.Tensor:
    """Max over the group axis: (N, C, G, H, W) -> (N, C, H, W), same dtype.

    The result does not change when the group axis is permuted, which makes a G-CNN's
    pooled features invariant to the group's action (up to the rotation of the maps).
    """
    # BEGIN SOLUTION
    return f.amax(dim=2)
    # END SOLUTION


def check_equivariance(weight: torch.Tensor, x: torch.Tensor, stride: int = 1) -> float:
    """The largest equivariance error of a p4 lifting layer, as a Python float.

    weight: (Cout, Cin, k, k); x: (N, Cin, H, H), square; same floating dtype; stride >= 1. The
    layer is lift(x) = F.conv2d(x, p4_lift_filter_bank(weight), stride=stride, padding=k // 2)
    reshaped to (N, Cout, 4, H', W') (use your own functions above). Return

        max over r in 1, 2, 3 of  max |lift(rotate_filters(x, r)) - rotate_feature_map(lift(x), r)|

    When (H + 2*(k // 2) - k) is divisible by the stride this is zero up to rounding. Otherwise
    the last row and column of the padded input are never read, and a turn moves those to the
    first row or column: the layer is not equivariant and the error is large. Return it all the same.
    """
    # BEGIN SOLUTION
    # Lift x and its three turns in one batch: out[r] is the lift of x turned by r.
    turns = torch.cat([rotate_filters(x, r) for r in range(4)])
    out = F.conv2d(turns, p4_lift_filter_bank(weight), stride=stride, padding=weight.shape[-1] // 2)
    out = out.reshape(4, x.shape[0], weight.shape[0], 4, *out.shape[-2:])
    errors = [(out[r] - rotate_feature_map(out[0], r)).abs().max() for r in (1, 2, 3)]
    return float(max(errors))
    # END SOLUTION
