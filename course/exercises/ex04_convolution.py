"""Exercise 04 (lesson 04, convolution): write convolution yourself, then check it against PyTorch.

You implement five functions: 1-D cross-correlation and true convolution, the output-size
formula, 2-D convolution with stride, padding and dilation, and im2col, the rearrangement
that turns a convolution into one matrix multiply. Each docstring is the full specification.

The rule: build every result from ordinary tensor operations (slicing, arithmetic, sum,
matmul, einsum, zeros, stack, reshape, ...). Torch's own convolution and unfolding
functions (`torch.nn.functional.conv1d`, `conv2d`, `unfold`, `fold`, `torch.conv2d`, ...)
and the course's `course.chapters.convolution` module are switched off while your code is graded:
calling them fails the test. The tests compare your results with those same functions.

Check your work with `python -m course grade ex04`.
"""
import torch


def xcorr1d(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """1-D cross-correlation in "valid" mode (no padding): slide w along x without flipping it.

    x: signal of shape (n,); w: kernel of shape (k,) with 1 <= k <= n; both of the same
    floating dtype. Returns y of shape (n - k + 1,) and of x's dtype, where

        y[i] = sum_{j=0}^{k-1} w[j] * x[i + j]

    This is what deep-learning libraries call "convolution".

    >>> xcorr1d(torch.tensor([1., 2., 3., 4.]), torch.tensor([1., 2.]))
    tensor([ 5.,  8., 11.])
    """
    # BEGIN SOLUTION
    n_out = x.shape[0] - w.shape[0] + 1
    y = x.new_zeros(n_out)
    for j in range(w.shape[0]):
        # Tap j meets the input entries j, j+1, ..., j+n_out-1: one slice per tap.
        y += w[j] * x[j:j + n_out]
    return y
    # END SOLUTION


def conv1d(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """1-D true convolution in "valid" mode (no padding): the kernel is flipped before sliding.

    x: signal of shape (n,); w: kernel of shape (k,) with 1 <= k <= n; both of the same
    floating dtype. Returns y of shape (n - k + 1,) and of x's dtype, where

        y[i] = sum_{j=0}^{k-1} w[j] * x[i + k - 1 - j]

    which equals xcorr1d(x, w flipped). Compare with xcorr1d's example:

    >>> conv1d(torch.tensor([1., 2., 3., 4.]), torch.tensor([1., 2.]))
    tensor([ 4.,  7., 10.])
    """
    # BEGIN SOLUTION
    k = w.shape[0]
    n_out = x.shape[0] - k + 1
    y = x.new_zeros(n_out)
    for j in range(k):
        # Tap j meets the input entries k-1-j, ..., k-1-j+n_out-1: the first tap reads last.
        y += w[j] * x[k - 1 - j:k - 1 - j + n_out]
    return y
    # END SOLUTION


def conv_output_size(n: int, k: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Length of a convolution's output along one axis, as a Python int.

    n: input length; k: kernel length; stride s: step between neighbouring windows;
    padding p: zeros added at each end of the input; dilation d: step between kernel taps
    (d = 1 means adjacent taps, so a window spans d(k - 1) + 1 input entries). All ints,
    with n, k, s, d >= 1, p >= 0 and d(k - 1) + 1 <= n + 2p. Returns

        floor((n + 2p - d(k - 1) - 1) / s) + 1

    >>> conv_output_size(100, 5), conv_output_size(100, 5, stride=2)
    (96, 48)
    """
    # BEGIN SOLUTION
    window_span = dilation * (k - 1) + 1
    return (n + 2 * padding - window_span) // stride + 1
    # END SOLUTION


def conv2d(x: torch.Tensor, w: torch.Tensor, bias=None, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """2-D convolution as deep learning means it: the same numbers as torch.nn.functional.conv2d.

    x: input of shape (N, C, H, W); w: weight of shape (O, C, kh, kw); bias: None or a
    tensor of shape (O,); x, w and bias share one floating dtype. stride, padding and
    dilation are each an int (the same for both axes) or a pair (along H, along W).
    padding adds that many zeros on both sides of its axis. Returns y of shape
    (N, O, H', W') and of x's dtype, with H' = conv_output_size(H, kh, sh, ph, dh),
    W' = conv_output_size(W, kw, sw, pw, dw) and, writing x_pad for the padded input,

        y[n, o, p, q] = bias[o] + sum_{c, r, s} w[o, c, r, s] * x_pad[n, c, p*sh + r*dh, q*sw + s*dw]

    (no bias term when bias is None). No kernel flip: this is a cross-correlation.

    >>> x = torch.arange(16.).reshape(1, 1, 4, 4)
    >>> conv2d(x, torch.ones(1, 1, 2, 2), stride=2)
    tensor([[[[10., 18.],
              [42., 50.]]]])
    """
    # BEGIN SOLUTION
    (sh, sw), (ph, pw), (dh, dw) = [
        (v, v) if isinstance(v, int) else tuple(v) for v in (stride, padding, dilation)
    ]
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    x_pad = x.new_zeros(N, C, H + 2 * ph, W + 2 * pw)
    x_pad[:, :, ph:ph + H, pw:pw + W] = x
    H_out = conv_output_size(H, kh, sh, ph, dh)
    W_out = conv_output_size(W, kw, sw, pw, dw)
    y = x.new_zeros(N, O, H_out, W_out)
    for r in range(kh):
        for s in range(kw):
            # Tap (r, s) of every window reads x_pad at rows r*dh + p*sh and columns s*dw + q*sw:
            # one (N, C, H_out, W_out) slice, whose channels the (O, C) matrix w[:, :, r, s] mixes.
            rows = slice(r * dh, r * dh + sh * H_out, sh)
            cols = slice(s * dw, s * dw + sw * W_out, sw)
            y += torch.einsum("nchw,oc->nohw", x_pad[:, :, rows, cols], w[:, :, r, s])
    if bias is not None:
        y += bias.reshape(1, O, 1, 1)
    return y
    # END SOLUTION


def im2col(x: torch.Tensor, k, stride=1, padding=0, dilation=1) -> torch.Tensor:
    """Every window of a 2-D convolution as one column: the same tensor as torch.nn.functional.unfold.

    x: input of shape (N, C, H, W), floating dtype. k: kernel size, an int or a pair
    (kh, kw); stride, padding and dilation: each an int or a pair (along H, along W), with
    the same meaning as in conv2d. Returns cols of shape (N, C*kh*kw, L) and of x's dtype,
    where L = H' * W' counts the windows (H', W' as in conv2d) in row-major order
    (l = p * W' + q), and the rows are ordered channel first, then kernel row, then kernel
    column:

        cols[n, c*kh*kw + r*kw + s, p*W' + q] = x_pad[n, c, p*sh + r*dh, q*sw + s*dw]

    So a convolution is one matrix multiply:
    conv2d(x, w) == (w.reshape(O, -1) @ im2col(x, (kh, kw))).reshape(N, O, H', W').

    >>> im2col(torch.arange(6.).reshape(1, 1, 2, 3), 2)
    tensor([[[0., 1.],
             [1., 2.],
             [3., 4.],
             [4., 5.]]])
    """
    # BEGIN SOLUTION
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = [
        (v, v) if isinstance(v, int) else tuple(v) for v in (k, stride, padding, dilation)
    ]
    N, C, H, W = x.shape
    x_pad = x.new_zeros(N, C, H + 2 * ph, W + 2 * pw)
    x_pad[:, :, ph:ph + H, pw:pw + W] = x
    H_out = conv_output_size(H, kh, sh, ph, dh)
    W_out = conv_output_size(W, kw, sw, pw, dw)
    taps = []
    for r in range(kh):
        for s in range(kw):
            # What tap (r, s) sees in every window: an (N, C, H_out, W_out) slice, as in conv2d.
            rows = slice(r * dh, r * dh + sh * H_out, sh)
            cols = slice(s * dw, s * dw + sw * W_out, sw)
            taps.append(x_pad[:, :, rows, cols])
    # Stacking the taps after the channel axis gives (N, C, kh*kw, H_out, W_out): channel-major rows.
    return torch.stack(taps, dim=2).reshape(N, C * kh * kw, H_out * W_out)
    # END SOLUTION
