"""Weight sharing: the parameter transformation H that copies entries of u into w.

    w[i] = u[index[i]]          (index: any shape of integers in 0..n-1; w has index's shape)

Every weight is one of the n free parameters; weights with the same index are *tied*.
The Jacobian dH/du is a 0/1 matrix with a single 1 per row (row i has it in column
index[i]), so the chain rule's (dH/du)^T dC/dw adds up the gradients of the tied copies:

    dC/du[j] = sum over i with index[i] = j of dC/dw[i]

and the induced update (dH/du)(dH/du)^T dC/dw moves every copy of u[j] by that same sum.
The example here is a circulant layer (row r of the matrix is row 0 shifted r places): n
parameters fill an n x n matrix, a preview of what a convolution does.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from course.parameter_transforms import chain_rule_check


def share(u: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """H for weight sharing: w[i] = u[index[i]], with w of index's shape (differentiable in u)."""
    return u[index]


def sharing_matrix(index: torch.Tensor, n: int, dtype=torch.float64) -> torch.Tensor:
    """dH/du for weight sharing, (index.numel(), n): row i is one-hot at column index[i]."""
    flat = index.reshape(-1)
    J = torch.zeros(flat.numel(), n, dtype=dtype)
    J[torch.arange(flat.numel()), flat] = 1.0
    return J


def sum_tied_gradients(grad_w: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """dC/du by hand: for each u[j], the sum of dC/dw over the copies of u[j]; shape (n,)."""
    return grad_w.new_zeros(n).index_add_(0, index.reshape(-1), grad_w.reshape(-1))


def circulant_index(n: int) -> torch.Tensor:
    """(n, n) index of a circulant matrix: entry (r, c) is parameter (c - r) mod n."""
    r = torch.arange(n)
    return (r[None, :] - r[:, None]) % n


@dataclass
class TiedProblem:
    """A small regression with a tied layer: C(u) = mean (tanh(x W^T) - y)^2, W = share(u, index)."""
    u: torch.Tensor       # (n,)
    index: torch.Tensor   # (n, n) circulant index
    x: torch.Tensor       # (N, n) inputs
    y: torch.Tensor       # (N, n) targets

    @property
    def n(self) -> int:
        return self.u.numel()

    def H(self, u: torch.Tensor) -> torch.Tensor:
        return share(u, self.index)

    def cost(self, w: torch.Tensor) -> torch.Tensor:
        return ((torch.tanh(self.x @ w.T) - self.y) ** 2).mean()


def tied_problem(n: int = 4, samples: int = 32, seed: int = 0) -> TiedProblem:
    """A seeded TiedProblem in float64 (so the checks below are exact to rounding)."""
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(n, generator=g, dtype=torch.float64)
    x = torch.randn(samples, n, generator=g, dtype=torch.float64)
    y = torch.tanh(x @ torch.randn(n, n, generator=g, dtype=torch.float64))
    return TiedProblem(u, circulant_index(n), x, y)


@dataclass
class TiedGradients:
    problem: TiedProblem
    w: torch.Tensor               # (n, n) the tied weights
    grad_w: torch.Tensor          # (n, n) dC/dw, one gradient per copy
    grad_u: torch.Tensor          # (n,) dC/du by autograd through share
    grad_u_by_hand: torch.Tensor  # (n,) sum of the copies' gradients
    grad_u_by_jacobian: torch.Tensor  # (n,) (dH/du)^T dC/dw with the explicit 0/1 matrix

    @property
    def hand_error(self) -> float:
        return (self.grad_u - self.grad_u_by_hand).abs().max().item()

    @property
    def jacobian_error(self) -> float:
        return (self.grad_u - self.grad_u_by_jacobian).abs().max().item()


def tied_gradients(problem: TiedProblem) -> TiedGradients:
    """Autograd's dC/du next to the hand-computed sum over tied copies and the Jacobian formula."""
    check = chain_rule_check(problem.H, problem.u, problem.cost)
    grad_w = check.grad_w.reshape(problem.index.shape)
    by_hand = sum_tied_gradients(grad_w, problem.index, problem.n)
    return TiedGradients(problem, problem.H(problem.u), grad_w, check.grad_u, by_hand, check.grad_u_by_formula)


@dataclass
class TiedStep:
    """One gradient step of size lr, taken on u (tied) or directly on w (untied)."""
    w: torch.Tensor                  # (n, n) before
    change_tied: torch.Tensor        # share(u - lr dC/du) - w
    change_by_formula: torch.Tensor  # -lr (dH/du)(dH/du)^T dC/dw, reshaped (n, n)
    change_untied: torch.Tensor      # -lr dC/dw
    cost_before: float
    cost_tied: float
    cost_untied: float

    @property
    def formula_error(self) -> float:
        return (self.change_tied - self.change_by_formula).abs().max().item()


def tied_and_untied_step(problem: TiedProblem, lr: float) -> TiedStep:
    """Compare the step that keeps the weights tied with a plain step on w that forgets the tie."""
    grads = tied_gradients(problem)
    with torch.no_grad():
        w = grads.w
        w_tied = share(problem.u - lr * grads.grad_u, problem.index)
        J = sharing_matrix(problem.index, problem.n)
        by_formula = (-lr * J @ (J.T @ grads.grad_w.reshape(-1))).reshape(w.shape)
        w_untied = w - lr * grads.grad_w
        costs = [problem.cost(v).item() for v in (w, w_tied, w_untied)]
    return TiedStep(w, w_tied - w, by_formula, w_untied - w, *costs)


def spread_within_copies(w: torch.Tensor, index: torch.Tensor) -> float:
    """Largest difference between two weights that should be copies of the same parameter."""
    flat_w, flat_index = w.reshape(-1), index.reshape(-1)
    return max((flat_w[flat_index == j].max() - flat_w[flat_index == j].min()).item()
               for j in flat_index.unique())
