"""Lesson 02: parameters that make the weights: w = H(u), weight sharing as one such H, hypernetworks.

Weights computed from other parameters: w = H(u), and what the chain rule makes of it.

A network G(x, w) does not have to own its weights. They can be the output of a function
H of a smaller (or just different) parameter vector u, and training then adjusts u:

    dC/du = (dH/du)^T dC/dw                       (N_u,) = (N_u, N_w) @ (N_w,)

A gradient step u <- u - lr * dC/du moves the weights to H(u - lr * dC/du). To first order
in lr that is the *induced update*

    w <- w - lr * (dH/du) (dH/du)^T dC/dw

and when H is linear (weight sharing is) there is no second-order term: the formula is exact.
This module computes both sides for any differentiable H, so a lesson can compare them.

Weight sharing: the parameter transformation H that copies entries of u into w.

    w[i] = u[index[i]]          (index: any shape of integers in 0..n-1; w has index's shape)

Every weight is one of the n free parameters; weights with the same index are *tied*.
The Jacobian dH/du is a 0/1 matrix with a single 1 per row (row i has it in column
index[i]), so the chain rule's (dH/du)^T dC/dw adds up the gradients of the tied copies:

    dC/du[j] = sum over i with index[i] = j of dC/dw[i]

and the induced update (dH/du)(dH/du)^T dC/dw moves every copy of u[j] by that same sum.
The example here is a circulant layer (row r of the matrix is row 0 shifted r places): n
parameters fill an n x n matrix, a preview of what a convolution does.

A hypernetwork: a network H(context, u) whose output is the weight vector of another network G.

G is a one-hidden-layer tanh net on x (x_dim inputs, `hidden` units, one output). All its
weights sit in one flat vector theta of length hidden * (x_dim + 2) + 1, laid out as

    theta = [ V (hidden x x_dim, row by row) | b (hidden) | r (hidden) | s (1) ]
    G(x, theta) = sum_j r[j] * tanh(V[j] . x + b[j]) + s

The hypernetwork computes a separate theta for every sample from that sample's context, so
each context gets its own G. The baseline `FixedTarget` is the same G architecture with one
set of trainable weights shared by all contexts; it may also read the context as extra inputs.
Both models take rows [context, x] and return (B, 1), which is what `course.runtime.train.fit` needs.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from course.runtime.threads import cpu_threads
from course.runtime.train import fit


# ---- parameter transformations and the chain rule ----------------------------------------------

def jacobian(H, u: torch.Tensor) -> torch.Tensor:
    """dH/du as an (N_w, N_u) matrix: row i is the gradient of weight w_i = H(u)_i (flattened)."""
    return torch.autograd.functional.jacobian(lambda v: H(v).reshape(-1), u.reshape(-1)).reshape(-1, u.numel())


def gradients(H, u: torch.Tensor, cost) -> tuple[torch.Tensor, torch.Tensor]:
    """(dC/du, dC/dw) for C = cost(H(u)), both by autograd, flattened; dC/dw is taken at w = H(u)."""
    u = u.detach().clone().requires_grad_(True)
    w = H(u)
    w.retain_grad()
    cost(w).backward()
    return u.grad.reshape(-1), w.grad.reshape(-1)


@dataclass
class ChainRuleCheck:
    grad_u: torch.Tensor          # dC/du by autograd through H, (N_u,)
    grad_w: torch.Tensor          # dC/dw by autograd, (N_w,)
    jacobian: torch.Tensor        # dH/du, (N_w, N_u)
    grad_u_by_formula: torch.Tensor  # (dH/du)^T dC/dw, (N_u,)

    @property
    def max_error(self) -> float:
        return (self.grad_u - self.grad_u_by_formula).abs().max().item()


def chain_rule_check(H, u: torch.Tensor, cost) -> ChainRuleCheck:
    """Compare autograd's dC/du with (dH/du)^T dC/dw built from an explicit Jacobian."""
    grad_u, grad_w = gradients(H, u, cost)
    J = jacobian(H, u)
    return ChainRuleCheck(grad_u, grad_w, J, J.T @ grad_w)


def step_on_u(H, u: torch.Tensor, cost, lr: float) -> torch.Tensor:
    """The weights after one gradient step on u: H(u - lr * dC/du), flattened."""
    grad_u, _ = gradients(H, u, cost)
    with torch.no_grad():
        return H(u - lr * grad_u.reshape(u.shape)).reshape(-1)


def induced_update(jacobian_matrix: torch.Tensor, grad_w: torch.Tensor, lr: float) -> torch.Tensor:
    """The first-order change of w caused by a step on u: -lr * (dH/du)(dH/du)^T dC/dw, (N_w,)."""
    return -lr * jacobian_matrix @ (jacobian_matrix.T @ grad_w)


def induced_update_residual(H, u: torch.Tensor, cost, lr: float) -> float:
    """Largest |true change of w - induced update| for one step of size lr (zero when H is linear)."""
    check = chain_rule_check(H, u, cost)
    w = H(u.detach()).reshape(-1)
    true_change = step_on_u(H, u, cost, lr) - w
    return (true_change - induced_update(check.jacobian, check.grad_w, lr)).abs().max().item()


def rank_one(u: torch.Tensor) -> torch.Tensor:
    """A non-linear H: 8 parameters make a rank-one 4x4 matrix, w = outer(u[:4], u[4:])."""
    return torch.outer(u[:4], u[4:])


# ---- weight sharing ----------------------------------------------------------------------------

def share(u: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """H for weight sharing: w[i] = u[index[i]], with w of index's shape (differentiable in u).

    This, sum_tied_gradients and target_forward answer exercise 02: in the student copy they run
    torch's take, autograd and functional.linear instead.
    """
    # BEGIN SOLUTION
    return u[index]
    # END SOLUTION
    # RELEASE: return torch.take(u, index)


def sharing_matrix(index: torch.Tensor, n: int, dtype=torch.float64) -> torch.Tensor:
    """dH/du for weight sharing, (index.numel(), n): row i is one-hot at column index[i]."""
    flat = index.reshape(-1)
    J = torch.zeros(flat.numel(), n, dtype=dtype)
    J[torch.arange(flat.numel()), flat] = 1.0
    return J


def sum_tied_gradients(grad_w: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """dC/du by hand: for each u[j], the sum of dC/dw over the copies of u[j]; shape (n,)."""
    # BEGIN SOLUTION
    return grad_w.new_zeros(n).index_add_(0, index.reshape(-1), grad_w.reshape(-1))
    # END SOLUTION
    # RELEASE: u = torch.zeros(n, dtype=grad_w.dtype, requires_grad=True)
    # RELEASE: return torch.autograd.grad(torch.take(u, index), u, grad_w)[0]  # autograd adds the copies' gradients


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


# ---- hypernetworks -----------------------------------------------------------------------------

def target_parameter_count(hidden: int, x_dim: int = 1) -> int:
    """Length of G's flat weight vector theta."""
    return hidden * (x_dim + 2) + 1


def target_forward(x: torch.Tensor, theta: torch.Tensor, hidden: int) -> torch.Tensor:
    """G(x, theta) with per-sample weights: x (B, x_dim), theta (B, P) -> (B,)."""
    B, x_dim = x.shape
    # BEGIN SOLUTION
    V = theta[:, : hidden * x_dim].reshape(B, hidden, x_dim)
    b, r, s = theta[:, hidden * x_dim :].split([hidden, hidden, 1], dim=1)
    activity = torch.tanh(torch.einsum("bjd,bd->bj", V, x) + b)
    return (r * activity).sum(dim=1) + s[:, 0]
    # END SOLUTION
    # RELEASE: V, b, r, s = theta.split([hidden * x_dim, hidden, hidden, 1], dim=1)
    # RELEASE: linear = torch.nn.functional.linear
    # RELEASE: one = lambda x, V, b, r, s: linear(torch.tanh(linear(x, V.reshape(hidden, x_dim), b)), r[None], s)  # noqa: E731
    # RELEASE: return torch.func.vmap(one)(x, V, b, r, s)[:, 0]


class HyperNetwork(nn.Module):
    """H(context, u): a tanh MLP from the context to theta; then G(x, theta) for each row."""

    def __init__(self, context_dim: int = 3, hyper_hidden: int = 64, hidden: int = 16, x_dim: int = 1):
        super().__init__()
        self.context_dim, self.hidden = context_dim, hidden
        self.H = nn.Sequential(nn.Linear(context_dim, hyper_hidden), nn.Tanh(),
                               nn.Linear(hyper_hidden, target_parameter_count(hidden, x_dim)))

    def weights_for(self, context: torch.Tensor) -> torch.Tensor:
        """theta for each context, (B, P): the weights of the G this context gets."""
        return self.H(context)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        context, x = inputs[:, : self.context_dim], inputs[:, self.context_dim :]
        return target_forward(x, self.weights_for(context), self.hidden)[:, None]


class FixedTarget(nn.Module):
    """The baseline: G with its own trainable weights, the same for every context.

    With `sees_context` the context columns are extra inputs of G's first layer (the fair
    comparison: the same information as the hypernetwork); without, G sees x alone and can
    at best learn the family's average curve.
    """

    def __init__(self, context_dim: int = 3, hidden: int = 16, x_dim: int = 1, sees_context: bool = True):
        super().__init__()
        self.first_input = 0 if sees_context else context_dim
        inputs = x_dim + (context_dim if sees_context else 0)
        self.G = nn.Sequential(nn.Linear(inputs, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.G(inputs[:, self.first_input :])


def train_models(models: dict, train, test, *, epochs: int, lr: float, batch_size: int, seed: int) -> dict:
    """Train each model with the same data, optimiser, epochs and shuffling; returns their histories."""
    with cpu_threads(1):
        return {name: fit(model, train, test, epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                          device="cpu", description=name)
                for name, model in models.items()}


def final_test_error(history) -> float:
    """Test MSE at the end of training: the median of the last 5 epochs (single epochs are noisy)."""
    return torch.tensor(history.test_loss[-5:]).median().item()


@torch.no_grad()
def curves_for(model: nn.Module, contexts: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The model's curve y(x) for each context: contexts (K, c), x (M,) -> (K, M)."""
    K, M = len(contexts), len(x)
    rows = torch.cat([contexts.repeat_interleave(M, dim=0), x.repeat(K)[:, None]], dim=1)
    return model(rows.to(contexts.dtype)).reshape(K, M)
