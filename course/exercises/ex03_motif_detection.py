"""Exercise 03 (lesson 03, motif detection): a shared detector, slid along sequences and over images.

You implement four functions: cutting a sequence into windows, the max-pooled motif
score (and where it is attained), the gradient of the summed scores with respect to the
shared weights (by hand: which windows contribute?), and thresholded template maps on
an image. Each docstring is the full specification.

The rule: build every result from ordinary tensor operations (indexing, slicing,
arithmetic, sum, max, matmul, einsum, stack, zeros, ...). Torch's convolution and
unfolding functions (`torch.nn.functional.conv1d`, `conv2d`, `unfold`, `Tensor.unfold`,
...), autograd (`torch.autograd.grad`, `Tensor.backward`) and the course's own
`course.chapters.motif_detection` are switched off while your code is graded: calling them
fails the test. The tests compare your results with those same functions.

Check your work with `python -m course grade ex03`.
"""
import torch


def sliding_windows(x: torch.Tensor, k: int) -> torch.Tensor:
    """Every window of k consecutive entries of a sequence, one window per row.

    x: sequence of shape (n,); k: an int with 1 <= k <= n. Returns a tensor of shape
    (n - k + 1, k) and of x's dtype with

        windows[i, j] = x[i + j]      for i = 0 .. n - k and j = 0 .. k - 1

    (window i starts at entry i; within a window the entries keep their order).

    >>> sliding_windows(torch.tensor([1., 2., 3., 4.]), 3)
    tensor([[1., 2., 3.],
            [2., 3., 4.]])
    """
    # BEGIN SOLUTION
    n = x.shape[0]
    starts = torch.arange(n - k + 1)[:, None]  # (n - k + 1, 1)
    taps = torch.arange(k)[None, :]            # (1, k)
    return x[starts + taps]
    # END SOLUTION


def motif_score(x: torch.Tensor, w: torch.Tensor) -> tuple:
    """The best match of a motif detector in each sequence of a batch, and where it is.

    x: batch of sequences of shape (N, n); w: detector weights of shape (k,) with
    1 <= k <= n; same floating dtype. The score of window i of sequence b is the dot
    product of w with that window, s[b, i] = sum_j w[j] * x[b, i + j], for
    i = 0 .. n - k. Returns a tuple (scores, positions):

        scores[b]    = max over i of s[b, i]           shape (N,), x's dtype
        positions[b] = an i where that max is reached  shape (N,), torch.int64

    (the tests never have two windows tied for the max).

    >>> x = torch.tensor([[0., 1., 2., 0.], [3., 0., 0., 1.]])
    >>> motif_score(x, torch.tensor([1., 1.]))
    (tensor([3., 3.]), tensor([1, 0]))
    """
    # BEGIN SOLUTION
    k = w.shape[0]
    windows = torch.stack([sliding_windows(sequence, k) for sequence in x])  # (N, n - k + 1, k)
    scores = windows @ w                                                    # (N, n - k + 1)
    best, positions = scores.max(dim=1)
    return best, positions
    # END SOLUTION


def motif_score_gradient(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The gradient, with respect to the shared weights w, of the batch's summed motif scores.

    x: (N, n) and w: (k,) as in motif_score. Let C = scores[0] + ... + scores[N-1] with
    scores from motif_score(x, w). Returns dC/dw, of shape (k,) and x's dtype.

    Every window uses the same w, so dC/dw is the sum over sequences and windows of each
    window's share; a max passes the gradient to its winning window only. Hence

        dC/dw[j] = sum over b of x[b, positions[b] + j]

    Compute it from this formula, not with autograd (switched off while grading).

    >>> x = torch.tensor([[0., 1., 2., 0.], [3., 0., 0., 1.]])
    >>> motif_score_gradient(x, torch.tensor([1., 1.]))
    tensor([4., 2.])
    """
    # BEGIN SOLUTION
    k = w.shape[0]
    _, positions = motif_score(x, w)
    gradient = torch.zeros(k, dtype=x.dtype)
    for b in range(x.shape[0]):
        gradient += x[b, positions[b]:positions[b] + k]  # the winning window's share
    return gradient
    # END SOLUTION


def template_responses(image: torch.Tensor, templates: torch.Tensor, threshold: float) -> torch.Tensor:
    """Where each template matches an image: thresholded cross-correlation maps.

    image: (H, W), floating dtype; templates: (T, k, k) with k odd, same dtype;
    threshold: a Python float. Pad the image with p = k // 2 zeros on every side
    (x_pad of shape (H + 2p, W + 2p)) and slide each template over it without flipping
    it (a cross-correlation, like PyTorch's conv2d):

        response[t, r, c] = sum_{u, v} templates[t, u, v] * x_pad[r + u, c + v]

    for r = 0 .. H - 1 and c = 0 .. W - 1, so each map has the image's size and
    response[t, r, c] is centred on pixel (r, c). Returns a tensor of shape (T, H, W) and
    of the image's dtype holding 1.0 where response >= threshold (a response exactly
    equal to the threshold counts) and 0.0 elsewhere.

    >>> image = torch.tensor([[0., 1., 1.], [0., 0., 0.]])
    >>> template = torch.tensor([[[-1., -1., -1.], [1., 1., -1.], [-1., -1., -1.]]])
    >>> template_responses(image, template, 2.0)
    tensor([[[0., 0., 1.],
             [0., 0., 0.]]])
    """
    # BEGIN SOLUTION
    H, W = image.shape
    k = templates.shape[-1]
    p = k // 2
    x_pad = image.new_zeros(H + 2 * p, W + 2 * p)
    x_pad[p:p + H, p:p + W] = image
    response = image.new_zeros(templates.shape[0], H, W)
    for u in range(k):
        for v in range(k):
            # Tap (u, v) of every template meets the pixels x_pad[r + u, c + v]: one shifted slice.
            response += templates[:, u, v, None, None] * x_pad[None, u:u + H, v:v + W]
    return (response >= threshold).to(image.dtype)
    # END SOLUTION
