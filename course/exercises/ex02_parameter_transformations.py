"""Exercise 02 (lesson 02, parameter transformations): weight sharing and a small hypernetwork.

You implement five functions. The first three are weight sharing, the transformation
w = H(u) that copies parameters into weights: the copy itself, the gradient that flows back
to the shared parameters, and the update that a step on u makes on w. The last two are a
hypernetwork: a network whose output is the weight vector of another network G.
Each docstring is the full specification.

The rule: build every result from ordinary tensor operations (indexing, arithmetic, sum,
index_add, matmul, einsum, tanh, reshape, zeros, ...). The course's own versions
(`course.chapters.parameter_transformations`) are switched off while your code is graded, and
so are autograd (`torch.autograd.grad`, `Tensor.backward`), `torch.take` and
`torch.nn.functional.linear`: the tests compute the expected values with them.

Check your work with `python -m course grade ex02`.
"""
import torch


def share(u: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Weight sharing: fill a weight tensor with copies of the parameters u.

    u: parameters of shape (n,), a floating dtype. index: int64 tensor of any shape, every
    entry in 0..n-1 (a parameter may be used any number of times, including never).
    Returns w with index's shape and u's dtype, where for every position i of index

        w[i] = u[index[i]]

    >>> share(torch.tensor([1.0, 2.0]), torch.tensor([0, 0, 1, 1]))
    tensor([1., 1., 2., 2.])
    """
    # BEGIN SOLUTION
    return u[index]
    # END SOLUTION


def shared_grad(grad_w: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """The gradient on the shared parameters: dC/du for w = share(u, index), given dC/dw.

    grad_w: dC/dw, a floating tensor of index's shape; index: as in `share`; n: the number of
    parameters (n >= 1, every index entry in 0..n-1). Returns g of shape (n,) and grad_w's
    dtype, where g[j] is the SUM of grad_w over every position i with index[i] == j (the
    chain rule adds the gradients of all copies), and 0 for a parameter that is never used.

    >>> shared_grad(torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([0, 0, 1, 1]), 3)
    tensor([3., 7., 0.])
    """
    # BEGIN SOLUTION
    g = grad_w.new_zeros(n)
    return g.index_add_(0, index.reshape(-1), grad_w.reshape(-1))
    # END SOLUTION


def induced_update(grad_w: torch.Tensor, index: torch.Tensor, lr: float) -> torch.Tensor:
    """How the weights change when gradient descent steps on u instead of on w.

    With w = share(u, index) and dC/dw = grad_w (index's shape, a floating dtype), one step
    u <- u - lr * dC/du changes the weights by

        delta_w = share(u - lr * dC/du, index) - share(u, index) = -lr * (dC/du)[index]

    that is, -lr (dH/du)(dH/du)^T dC/dw: every copy of a parameter moves by the same amount,
    -lr times the summed gradient of all its copies. lr: a Python float. Returns delta_w with
    index's shape and grad_w's dtype. (u itself is not needed: H is linear.)

    >>> induced_update(torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([0, 0, 1, 1]), 0.5)
    tensor([-1.5000, -1.5000, -3.5000, -3.5000])
    """
    # BEGIN SOLUTION
    n = int(index.max()) + 1 if index.numel() else 0
    grad_u = grad_w.new_zeros(n).index_add_(0, index.reshape(-1), grad_w.reshape(-1))
    return -lr * grad_u[index]
    # END SOLUTION


def target_forward(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """The network G, a one-hidden-layer tanh net, run with a separate weight vector per sample.

    x: inputs of shape (B, d); theta: weights of shape (B, P) with P = h * (d + 2) + 1 for h
    hidden units (so h = (P - 1) / (d + 2)); one floating dtype for both. Row theta[b] is
    sample b's weight vector, laid out as

        theta[b] = [ V (h*d entries: V[j, k] = theta[b, j*d + k], row by row) |
                     c (h entries) | r (h entries) | s (1 entry) ]

    and the output is, for every sample b,

        y[b] = sum_{j=0}^{h-1} r[j] * tanh( sum_{k=0}^{d-1} V[j, k] * x[b, k] + c[j] ) + s

    Returns y of shape (B,) and x's dtype.

    >>> target_forward(torch.tensor([[0.0]]), torch.tensor([[1.0, 0.5, 2.0, -1.0]]))  # h = 1
    tensor([-0.0758])
    """
    # BEGIN SOLUTION
    B, d = x.shape
    h = (theta.shape[1] - 1) // (d + 2)
    V = theta[:, : h * d].reshape(B, h, d)
    c = theta[:, h * d : h * d + h]
    r = theta[:, h * d + h : h * d + 2 * h]
    s = theta[:, -1]
    hidden = torch.tanh(torch.einsum("bjk,bk->bj", V, x) + c)
    return (r * hidden).sum(dim=1) + s
    # END SOLUTION


def hyper_forward(context: torch.Tensor, x: torch.Tensor, hyper_weights: list) -> torch.Tensor:
    """A hypernetwork: a small net H turns each sample's context into the weights of G, then G runs.

    context: (B, m); x: (B, d); hyper_weights: a list [A1, a1, A2, a2] of H's weights with
    A1 of shape (k, m), a1 (k,), A2 (P, k), a2 (P,), where P = h * (d + 2) + 1; all tensors
    of one floating dtype. H is a one-hidden-layer tanh net with a linear output:

        theta[b] = A2 @ tanh(A1 @ context[b] + a1) + a2          (P entries)

    and the result is G run with those weights, exactly as in `target_forward`:

        y[b] = target_forward(x, theta)[b]

    Returns y of shape (B,) and x's dtype. Every sample gets its own G.
    """
    # BEGIN SOLUTION
    A1, a1, A2, a2 = hyper_weights
    theta = torch.tanh(context @ A1.T + a1) @ A2.T + a2
    return target_forward(x, theta)
    # END SOLUTION
