"""Exercise 05 (lesson 05, deep conv nets): pooling three ways, and the receptive field of a stack.

You implement four functions: max pooling, average pooling and L2 pooling over 2-D
windows (each with kernel size, stride and padding), and the receptive-field recurrence
that says how much of the input one unit of a conv / pool stack can see. Each docstring
is the full specification.

The rule: build the pooling results from ordinary tensor operations (slicing, padding by
hand, arithmetic, max, mean, sqrt, stack, reshape, Tensor.unfold, ...). Torch's own
pooling functions (`torch.nn.functional.max_pool2d`, `avg_pool2d`, `lp_pool2d`, the
adaptive ones, `torch.max_pool2d`, `nn.MaxPool2d`, ...), its convolutions (`F.conv1d`,
`F.conv2d`, ...: the receptive-field tests measure fields with them) and the course's
`course.chapters.deep_conv_nets` are switched off while your code is graded: calling them fails
the test. The tests compare your results with those same functions.

Check your work with `python -m course grade ex05`.
"""
import torch


def max_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0) -> torch.Tensor:
    """Max pooling: the largest value in each window, the same numbers as torch.nn.functional.max_pool2d.

    x: input of shape (N, C, H, W), floating dtype. kernel_size (kh, kw), stride (sh, sw)
    and padding (ph, pw): each an int (the same along both axes) or a pair (along H,
    along W). stride=None means stride = kernel_size (windows side by side, PyTorch's
    default). padding adds ph rows at the top and at the bottom and pw columns at the
    left and right, filled with -infinity, so a padded cell never wins a window (PyTorch
    pads max pooling the same way); as in PyTorch, ph <= kh // 2 and pw <= kw // 2.
    Every channel is pooled on its own. Returns y of shape (N, C, H', W') and of x's dtype,
    with H' = floor((H + 2ph - kh) / sh) + 1, W' = floor((W + 2pw - kw) / sw) + 1 and

        y[n, c, p, q] = max over 0 <= r < kh, 0 <= s < kw of x_pad[n, c, p*sh + r, q*sw + s]

    >>> max_pool2d(torch.arange(16.).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    """
    # BEGIN SOLUTION
    (kh, kw), (ph, pw) = [(v, v) if isinstance(v, int) else tuple(v) for v in (kernel_size, padding)]
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else tuple(stride))
    N, C, H, W = x.shape
    x_pad = x.new_full((N, C, H + 2 * ph, W + 2 * pw), float("-inf"))  # -inf never wins a max
    x_pad[:, :, ph:ph + H, pw:pw + W] = x
    # Tensor.unfold(dim, size, step) cuts strided windows: (N, C, H', W', kh, kw), a view, no copy.
    windows = x_pad.unfold(2, kh, sh).unfold(3, kw, sw)
    return windows.amax(dim=(-2, -1))
    # END SOLUTION


def avg_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0) -> torch.Tensor:
    """Average pooling: the mean of each window, the same numbers as torch.nn.functional.avg_pool2d.

    Arguments and output shape as in max_pool2d (stride=None means stride = kernel_size;
    ph <= kh // 2, pw <= kw // 2), except that padding adds cells of zero, and the zeros
    COUNT in the mean: every window is divided by kh * kw, however many of its cells are
    padding (PyTorch's default, count_include_pad=True). So with x_pad the zero-padded input,

        y[n, c, p, q] = (1 / (kh * kw)) * sum over 0 <= r < kh, 0 <= s < kw of x_pad[n, c, p*sh + r, q*sw + s]

    >>> avg_pool2d(torch.arange(16.).reshape(1, 1, 4, 4), 2)
    tensor([[[[ 2.5000,  4.5000],
              [10.5000, 12.5000]]]])
    """
    # BEGIN SOLUTION
    (kh, kw), (ph, pw) = [(v, v) if isinstance(v, int) else tuple(v) for v in (kernel_size, padding)]
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else tuple(stride))
    N, C, H, W = x.shape
    x_pad = x.new_zeros(N, C, H + 2 * ph, W + 2 * pw)
    x_pad[:, :, ph:ph + H, pw:pw + W] = x
    windows = x_pad.unfold(2, kh, sh).unfold(3, kw, sw)  # (N, C, H', W', kh, kw)
    return windows.sum(dim=(-2, -1)) / (kh * kw)  # padded zeros count: always kh * kw cells
    # END SOLUTION


def l2_pool2d(x: torch.Tensor, kernel_size, stride=None, padding=0) -> torch.Tensor:
    """L2 pooling: the root of the mean of the squares of each window (an "energy" per window).

    Arguments, zero padding and output shape exactly as in avg_pool2d (padded zeros count
    in the mean). Returns

        y[n, c, p, q] = sqrt( (1 / (kh * kw)) * sum over r, s of x_pad[n, c, p*sh + r, q*sw + s] ** 2 )

    that is sqrt(avg_pool2d(x ** 2, ...)). Mind the name clash: PyTorch's
    torch.nn.functional.lp_pool2d with norm_type=2 returns the root of the SUM of squares,
    which is sqrt(kh * kw) times this; here it is the mean, so a constant image c gives |c|.

    >>> l2_pool2d(torch.tensor([[[[3., -3.], [3., 3.]]]]), 2)
    tensor([[[[3.]]]])
    """
    # BEGIN SOLUTION
    (kh, kw), (ph, pw) = [(v, v) if isinstance(v, int) else tuple(v) for v in (kernel_size, padding)]
    sh, sw = (kh, kw) if stride is None else ((stride, stride) if isinstance(stride, int) else tuple(stride))
    N, C, H, W = x.shape
    squares = x.new_zeros(N, C, H + 2 * ph, W + 2 * pw)
    squares[:, :, ph:ph + H, pw:pw + W] = x * x
    windows = squares.unfold(2, kh, sh).unfold(3, kw, sw)  # (N, C, H', W', kh, kw)
    return torch.sqrt(windows.sum(dim=(-2, -1)) / (kh * kw))
    # END SOLUTION


def receptive_field(layers) -> tuple:
    """Receptive field of one unit after a stack of conv / pool layers, along one axis.

    layers: a list of (kernel, stride, padding, dilation) tuples of ints, first layer
    first; a pooling layer is an entry too (a 2x2 max pool with stride 2 is (2, 2, 0, 1)).
    Returns a tuple of three Python ints (size, jump, start) for the units of the last layer:

        size:  how many consecutive input pixels (along one axis) can affect one unit;
        jump:  how far apart, in input pixels, the receptive fields of two neighbouring units are;
        start: the input index of the first pixel in the receptive field of unit 0; negative
               when that field reaches into the padding.

    So unit i of the last layer sees input pixels start + i * jump, ..., start + i * jump + size - 1.
    Before any layer a unit is one pixel: (size, jump, start) = (1, 1, 0). A layer with
    kernel k, stride s, padding p and dilation d, on top of (size, jump, start), gives

        size  + d * (k - 1) * jump,    jump * s,    start - p * jump

    (all three use the jump from before the layer). An empty list gives (1, 1, 0).

    >>> receptive_field([(3, 1, 1, 1), (2, 2, 0, 1), (3, 1, 1, 1)])
    (8, 2, -3)
    """
    # BEGIN SOLUTION
    size, jump, start = 1, 1, 0
    for kernel, stride, padding, dilation in layers:
        size += dilation * (kernel - 1) * jump  # k taps, d apart, each tap a step of `jump` input pixels
        start -= padding * jump  # the padding shifts unit 0's field left by p units of the layer below
        jump *= stride
    return int(size), int(jump), int(start)
    # END SOLUTION
