"""Weights computed from other parameters: w = H(u), and what the chain rule makes of it.

A network G(x, w) does not have to own its weights. They can be the output of a function
H of a smaller (or just different) parameter vector u, and training then adjusts u:

    dC/du = (dH/du)^T dC/dw                       (N_u,) = (N_u, N_w) @ (N_w,)

A gradient step u <- u - lr * dC/du moves the weights to H(u - lr * dC/du). To first order
in lr that is the *induced update*

    w <- w - lr * (dH/du) (dH/du)^T dC/dw

and when H is linear (weight sharing is) there is no second-order term: the formula is exact.
This module computes both sides for any differentiable H, so a lesson can compare them.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


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
