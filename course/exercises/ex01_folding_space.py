"""Exercise 01 (lesson 01, folding space): push points through a ReLU net one step at a time.

You implement three functions: the list of every intermediate point set of a ReLU net
(after each affine map and after each ReLU), the fraction of points that some hidden ReLU
sends to the origin ("dead" points, which no later layer can tell apart), and where ReLU
puts each point of the plane (inside the quadrant, on an axis, on the origin). Each
docstring is the full specification.

Conventions, the ones of torch.nn.Linear: a net with L layers is given as two lists of
length L, `weights` and `biases`. Layer l has a weight of shape (d_l, d_{l-1}) and a bias
of shape (d_l,); a batch of points is an (N, d_0) tensor with one point per row, so the
affine map of layer l takes each point x to W_l x + b_l, that is `x_batch @ W_l.T + b_l`.
Layers 1 .. L-1 are hidden: a ReLU follows their affine map. Layer L is the output
layer: no ReLU after it.

The rule: build the results from ordinary tensor operations (matmul, arithmetic,
comparisons, torch.relu or clamp, sum, any, all, ...). The lesson's own
`course.chapters.folding_space` functions and `torch.nn.functional.linear` and `relu` (the
tests compute the expected values with them) are switched off while your code is graded.

Check your work with `python -m course grade ex01`.
"""
import torch


def layer_steps(points: torch.Tensor, weights: list, biases: list) -> list:
    """Every intermediate point set of the net, in order.

    points: (N, d_0); weights[l]: (d_{l+1}, d_l); biases[l]: (d_{l+1},); all of one floating
    dtype; L = len(weights) = len(biases) >= 1. Returns a list of 2L - 1 tensors:

        [a_1, h_1, a_2, h_2, ..., a_{L-1}, h_{L-1}, a_L]

    where h_0 = points, a_l = h_{l-1} @ weights[l-1].T + biases[l-1] (the affine map of
    layer l, shape (N, d_l)) and h_l = relu(a_l) for the hidden layers l < L. The output
    layer's a_L is the last entry: no ReLU is applied to it. The input itself is not in
    the list. Every tensor has the dtype of `points`.

    >>> W = [torch.tensor([[1., 0.], [0., -1.]]), torch.tensor([[1., 1.]])]
    >>> b = [torch.tensor([0., 1.]), torch.tensor([-1.])]
    >>> layer_steps(torch.tensor([[2., 3.]]), W, b)
    [tensor([[ 2., -2.]]), tensor([[2., 0.]]), tensor([[1.]])]
    """
    # BEGIN SOLUTION
    steps, h = [], points
    for layer, (weight, bias) in enumerate(zip(weights, biases), start=1):
        a = h @ weight.T + bias
        steps.append(a)
        if layer < len(weights):  # hidden layer: ReLU; the output layer stays affine
            h = torch.relu(a)
            steps.append(h)
    return steps
    # END SOLUTION


def dead_fraction(points: torch.Tensor, weights: list, biases: list) -> float:
    """The fraction of the points that some hidden ReLU sends exactly to the origin.

    Same arguments and conventions as layer_steps. A point is *dead* when, for at least
    one hidden layer l (1 <= l <= L-1), every coordinate of its h_l is exactly 0. Count
    each point once, however many layers send it to the origin (a dead point may leave
    the origin again at a later layer, when a positive bias moves it: it still counts).
    Points merely on an axis (some coordinates 0, not all) are not dead. The output
    layer has no ReLU and never makes a point dead. Returns (number of dead points) / N
    as a Python float; 0.0 for a net with no hidden layer (L = 1).

    >>> W = [torch.tensor([[1., 0.], [0., 1.]]), torch.tensor([[1., 1.]])]
    >>> b = [torch.tensor([0., 0.]), torch.tensor([0.])]
    >>> dead_fraction(torch.tensor([[1., 2.], [-1., -2.], [-1., 2.], [-3., -1.]]), W, b)
    0.5
    """
    # BEGIN SOLUTION
    dead = torch.zeros(points.shape[0], dtype=torch.bool)
    h = points
    for weight, bias in zip(weights[:-1], biases[:-1]):  # the hidden layers only
        h = torch.relu(h @ weight.T + bias)
        dead |= (h == 0).all(dim=1)
    return dead.sum().item() / points.shape[0]
    # END SOLUTION


def relu_landing(points: torch.Tensor) -> torch.Tensor:
    """Where ReLU puts each point of the plane: inside the quadrant, on an axis, or on the origin.

    points: (N, 2), floating. Returns an int64 tensor of shape (N,) whose entry n is the
    number of coordinates of relu(points[n]) that are exactly 0:

        0: the point stays inside the open positive quadrant (ReLU does not move it),
        1: it lands on an axis, away from the origin,
        2: it lands on the origin.

    A coordinate that is already exactly 0 stays 0 under ReLU: (0, 3) lands on an axis.

    >>> relu_landing(torch.tensor([[1., 2.], [-1., 2.], [-1., -2.], [0., 3.]]))
    tensor([0, 1, 2, 1])
    """
    # BEGIN SOLUTION
    return (torch.relu(points) == 0).sum(dim=1)
    # END SOLUTION
