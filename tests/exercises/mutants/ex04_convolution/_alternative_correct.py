"""A second correct solution, written independently of the reference one: it must score full marks.

Windows come from Tensor.unfold (a strided view, not torch.nn.functional.unfold), taken
over the dilated span and then thinned to every d-th entry; conv2d is im2col followed by
one matrix multiply, and the output size counts window starts with range().
"""
import torch

BROKEN = None


def _as_pair(value):
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def xcorr1d(x, w):
    windows = x.unfold(0, w.shape[0], 1)  # (n - k + 1, k): windows[i, j] = x[i + j]
    return windows @ w


def conv1d(x, w):
    return x.unfold(0, w.shape[0], 1) @ w.flip(0)


def conv_output_size(n, k, stride=1, padding=0, dilation=1):
    last_start = n + 2 * padding - dilation * (k - 1)  # one past the last place a window can start
    return len(range(0, last_start, stride))


def im2col(x, k, stride=1, padding=0, dilation=1):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = map(_as_pair, (k, stride, padding, dilation))
    N, C = x.shape[:2]
    padded = torch.nn.functional.pad(x, (pw, pw, ph, ph))
    rows = padded.unfold(2, dh * (kh - 1) + 1, sh)[..., ::dh]          # (N, C, H', Wp, kh)
    patches = rows.unfold(3, dw * (kw - 1) + 1, sw)[..., ::dw]         # (N, C, H', W', kh, kw)
    H_out, W_out = patches.shape[2], patches.shape[3]
    return patches.permute(0, 1, 4, 5, 2, 3).reshape(N, C * kh * kw, H_out * W_out)


def conv2d(x, w, bias=None, stride=1, padding=0, dilation=1):
    O, _, kh, kw = w.shape
    cols = im2col(x, (kh, kw), stride, padding, dilation)             # (N, C*kh*kw, L)
    (sh, sw), (ph, pw), (dh, dw) = map(_as_pair, (stride, padding, dilation))
    H_out = conv_output_size(x.shape[2], kh, sh, ph, dh)
    W_out = conv_output_size(x.shape[3], kw, sw, pw, dw)
    y = torch.einsum("ok,nkl->nol", w.reshape(O, -1), cols)
    if bias is not None:
        y = y + bias[None, :, None]
    return y.reshape(x.shape[0], O, H_out, W_out)
