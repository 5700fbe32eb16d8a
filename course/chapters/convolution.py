"""Sliding-window convolution, written out so it can be read.

One idea: an output entry is the dot product of the kernel with one window of the
input, and every window uses the same kernel. Which input entries a window touches
is the whole story of stride, padding and dilation:

    output index p (p = 0, 1, ...) with kernel tap r (r = 0 .. k-1) reads
    padded input index  p * stride + r * dilation

where the padded input has `padding` zeros added at both ends. Nothing here loops over
output positions: we build these indices as tensors, gather every window at once and
finish with one matrix multiply (im2col). The results equal `torch.nn.functional`'s
`conv1d`, `unfold` and `conv2d` (groups=1), which the tests check.

These are exercise 04's answers, so the student copy holds none of them: there `unfold2d`,
`cross_correlate2d` and `conv_output_size` run your ex04 functions once you have written them
(torch's `F.unfold`, `F.conv2d` and output shape until then), and the 1-D functions run `F.conv1d`.
"""
from __future__ import annotations

import torch


def conv_output_size(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Number of window positions along one axis: floor((n + 2p - d(k-1) - 1) / s) + 1.

    n: input length; k: kernel length; p: zeros added at each end; s: step between
    windows; d: gap between kernel taps (d = 1 means adjacent). Raises ValueError for
    non-positive n, k, stride or dilation, negative padding, or a dilated kernel
    longer than the padded input.
    """
    _check_geometry(n, k, stride, padding, dilation)
    # BEGIN SOLUTION
    span = dilation * (k - 1) + 1  # input entries one window covers, gaps included
    return (n + 2 * padding - span) // stride + 1
    # END SOLUTION
    # RELEASE: from course.exercises.ex04_convolution import conv_output_size as yours
    # RELEASE: from course.runtime.yours import yours_or_torch
    # RELEASE: return yours_or_torch(yours, _torch_output_size, n, k, stride, padding, dilation)


def _check_geometry(n, k, stride, padding, dilation) -> None:
    """ValueError unless the sizes are positive ints, padding >= 0, and the dilated kernel fits the padded input."""
    limits = (("n", n, 1), ("k", k, 1), ("stride", stride, 1), ("dilation", dilation, 1), ("padding", padding, 0))
    for name, value, smallest in limits:
        if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
            raise ValueError(f"{name} must be an integer >= {smallest}, got {value!r}")
    if dilation * (k - 1) + 1 > n + 2 * padding:
        raise ValueError(
            f"the dilated kernel spans {dilation * (k - 1) + 1} entries (k={k}, dilation={dilation}) but the "
            f"padded input has only {n + 2 * padding} (n={n}, padding={padding})"
        )


# BEGIN SOLUTION
def _window_index(n, k, stride, padding, dilation):
    """(k, n_out) tensor: padded-input index read by tap r for output p (see module docstring)."""
    n_out = conv_output_size(n, k, stride, padding, dilation)
    return torch.arange(k)[:, None] * dilation + torch.arange(n_out)[None, :] * stride
# END SOLUTION
# RELEASE: def _torch_output_size(n, k, stride, padding, dilation):
# RELEASE:     """The output length torch's own conv1d gives (the student copy, until ex04's is written)."""
# RELEASE:     zeros = torch.zeros(1, 1, n), torch.zeros(1, 1, k)
# RELEASE:     return torch.nn.functional.conv1d(*zeros, stride=stride, padding=padding, dilation=dilation).shape[-1]


def _pair(value, name):
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair


def cross_correlate1d(x: torch.Tensor, w: torch.Tensor, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """y[p] = sum_r w[r] * x_padded[p*stride + r*dilation]   (what deep learning calls "convolution").

    x: (L,) signal, w: (k,) kernel -> y: (L_out,), L_out = conv_output_size(L, k, ...).
    """
    if x.dim() != 1 or w.dim() != 1:
        raise ValueError(f"x and w must be 1-D, got shapes {tuple(x.shape)} and {tuple(w.shape)}")
    _check_geometry(x.shape[0], w.shape[0], stride, padding, dilation)
    # BEGIN SOLUTION
    index = _window_index(x.shape[0], w.shape[0], stride, padding, dilation)
    padded = x.new_zeros(x.shape[0] + 2 * padding)
    padded[padding : padding + x.shape[0]] = x
    windows = padded[index.T]  # (L_out, k): one row per window position
    return windows @ w
    # END SOLUTION
    # RELEASE: return torch.nn.functional.conv1d(x[None, None], w[None, None], stride=stride, padding=padding,
    # RELEASE:                                   dilation=dilation)[0, 0]


def convolve1d(x: torch.Tensor, w: torch.Tensor, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """True convolution y[i] = sum_j w[j] * x[i - j], restricted to windows that fit (+ padding).

    It is cross-correlation with the kernel read backwards: the two conventions differ
    only in the order the weights are stored. x: (L,), w: (k,) -> (L_out,).
    """
    return cross_correlate1d(x, torch.flip(w, dims=(0,)), stride, padding, dilation)


def unfold2d(x: torch.Tensor, kernel_size, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """im2col: every window of x laid out as one column, exactly like `F.unfold`.

    x: (N, C, H, W) -> (N, C*kh*kw, H_out*W_out). Rows run channel-major (c, then
    kernel row r, then kernel column s); columns run over output positions row by row.
    kernel_size, stride, padding, dilation: an int or an (along H, along W) pair.
    """
    if x.dim() != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {tuple(x.shape)}")
    (kh, kw), (sh, sw) = _pair(kernel_size, "kernel_size"), _pair(stride, "stride")
    (ph, pw), (dh, dw) = _pair(padding, "padding"), _pair(dilation, "dilation")
    n, c, h, w = x.shape
    _check_geometry(h, kh, sh, ph, dh)
    _check_geometry(w, kw, sw, pw, dw)
    # BEGIN SOLUTION
    rows = _window_index(h, kh, sh, ph, dh)  # (kh, H_out)
    cols = _window_index(w, kw, sw, pw, dw)  # (kw, W_out)
    padded = x.new_zeros(n, c, h + 2 * ph, w + 2 * pw)
    padded[:, :, ph : ph + h, pw : pw + w] = x
    # Broadcast the two index maps to (kh, kw, H_out, W_out): tap (r, s) of output (p, q).
    windows = padded[:, :, rows[:, None, :, None], cols[None, :, None, :]]
    return windows.reshape(n, c * kh * kw, rows.shape[1] * cols.shape[1])
    # END SOLUTION
    # RELEASE: from course.exercises.ex04_convolution import im2col as yours
    # RELEASE: from course.runtime.yours import yours_or_torch
    # RELEASE: return yours_or_torch(yours, torch.nn.functional.unfold, x, (kh, kw), stride=(sh, sw), padding=(ph, pw),
    # RELEASE:                       dilation=(dh, dw))


def cross_correlate2d(x: torch.Tensor, w: torch.Tensor, bias=None, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """`F.conv2d` with groups=1, as im2col followed by one matrix multiply.

    x: (N, C, H, W), w: (C_out, C, kh, kw), bias: (C_out,) or None -> (N, C_out, H_out, W_out).
    Each output channel is one row of w flattened to C*kh*kw numbers; each column of the
    unfolded input is one window; their product is every dot product at once.
    """
    if w.dim() != 4 or x.dim() != 4 or w.shape[1] != x.shape[1]:
        raise ValueError(
            f"expected x (N, C, H, W) and w (C_out, C, kh, kw) with the same C, got {tuple(x.shape)} and {tuple(w.shape)}"
        )
    if bias is not None and bias.shape != (w.shape[0],):
        raise ValueError(f"bias must have shape ({w.shape[0]},), got {tuple(bias.shape)}")
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation")
    h_out = conv_output_size(x.shape[2], w.shape[2], sh, ph, dh)
    w_out = conv_output_size(x.shape[3], w.shape[3], sw, pw, dw)
    # BEGIN SOLUTION
    columns = unfold2d(x, w.shape[2:], stride, padding, dilation)  # (N, C*kh*kw, L)
    y = w.reshape(w.shape[0], -1) @ columns  # (C_out, C*kh*kw) @ (N, C*kh*kw, L) -> (N, C_out, L)
    if bias is not None:
        y = y + bias[:, None]
    return y.reshape(x.shape[0], w.shape[0], h_out, w_out)
    # END SOLUTION
    # RELEASE: from course.exercises.ex04_convolution import conv2d as yours
    # RELEASE: from course.runtime.yours import yours_or_torch
    # RELEASE: return yours_or_torch(yours, torch.nn.functional.conv2d, x, w, bias, (sh, sw), (ph, pw), (dh, dw))


# ---- a convolution is a matrix; which cells a strided window never reads ----------------------

def correlation_matrix(w: torch.Tensor, n: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> torch.Tensor:
    """The (L_out, n) matrix M with M @ x == cross_correlate1d(x, w, stride, padding, dilation).

    Row p holds the kernel where window p reads the signal: M[p, p*stride + r*dilation - padding]
    = w[r], zeros elsewhere (taps that land in the padding multiply zeros and are dropped). With
    stride 1 every row is the row above shifted one place: a banded Toeplitz matrix whose
    L_out * n entries are made of only k numbers.
    """
    k = w.shape[0]
    n_out = conv_output_size(n, k, stride, padding, dilation)
    # BEGIN SOLUTION
    rows = torch.arange(n_out)[:, None].expand(n_out, k)
    cols = rows * stride + torch.arange(k)[None, :] * dilation - padding  # (L_out, k) input index of each tap
    inside = (cols >= 0) & (cols < n)
    matrix = w.new_zeros(n_out, n)
    matrix[rows[inside], cols[inside]] = w.expand(n_out, k)[inside]
    return matrix
    # END SOLUTION
    # RELEASE: basis = torch.eye(n, dtype=w.dtype)[:, None]  # column j of M is the output for the j-th unit signal
    # RELEASE: return torch.nn.functional.conv1d(basis, w[None, None], stride=stride, padding=padding,
    # RELEASE:                                   dilation=dilation)[:, 0].T


def circulant_matrix(w: torch.Tensor, n: int) -> torch.Tensor:
    """The (n, n) matrix C with (C @ x)[i] = sum_r w[r] x[(i + r) mod n]: cross-correlation on a ring.

    Row i is the kernel, padded with zeros to length n, rolled i places to the right, so every
    row is a shifted copy of the first: a circulant matrix. Needs k <= n.
    """
    k = w.shape[0]
    if k > n:
        raise ValueError(f"a circulant matrix needs k <= n, got k={k}, n={n}")
    # BEGIN SOLUTION
    first_row = torch.cat([w, w.new_zeros(n - k)])
    return torch.stack([torch.roll(first_row, i) for i in range(n)])
    # END SOLUTION
    # RELEASE: ring = torch.nn.functional.pad(torch.eye(n, dtype=w.dtype)[:, None], (0, k - 1), mode="circular")
    # RELEASE: return torch.nn.functional.conv1d(ring, w[None, None])[:, 0].T  # column j: the ring's j-th unit signal


def never_read(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> list[int]:
    """Input indices (0 .. n-1) that no window reads: after the last whole window, and, when
    dilation and stride skip the same cells, gaps inside. Window p, tap r reads index
    p*stride + r*dilation - padding."""
    n_out = conv_output_size(n, k, stride, padding, dilation)
    read = {p * stride + r * dilation - padding for p in range(n_out) for r in range(k)}
    return [i for i in range(n) if i not in read]
