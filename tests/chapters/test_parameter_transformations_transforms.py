"""course/chapters/parameter_transformations.py: the chain rule through w = H(u) and the induced update."""
import torch

from course.chapters.parameter_transformations import (chain_rule_check, induced_update, induced_update_residual,
                                                       jacobian)


def quadratic_cost(w):
    target = torch.linspace(-1, 1, w.numel(), dtype=w.dtype).reshape(w.shape)
    return ((w - target) ** 2).sum()


def rank_one(u):
    return torch.outer(u[:3], u[3:])


U = torch.tensor([0.5, -1.0, 2.0, 1.5, 0.2], dtype=torch.float64)


def test_jacobian_of_a_linear_map_is_its_matrix():
    A = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(jacobian(lambda u: A @ u, U[:3]), A)


def test_chain_rule_check_agrees_with_autograd_for_a_nonlinear_h():
    check = chain_rule_check(rank_one, U, quadratic_cost)
    assert check.jacobian.shape == (6, 5)
    assert check.max_error < 1e-12  # float64: only rounding


def test_induced_update_is_minus_lr_j_j_transpose_g():
    J = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    g = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    torch.testing.assert_close(induced_update(J, g, 0.5), torch.tensor([-1.5, -1.5, -1.5], dtype=torch.float64))


def test_induced_update_residual_is_rounding_for_linear_h_and_quadratic_otherwise():
    A = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert induced_update_residual(lambda u: (A @ u).reshape(2, 3), U, quadratic_cost, 0.1) < 1e-12
    small, half = (induced_update_residual(rank_one, U, quadratic_cost, lr) for lr in (1e-2, 5e-3))
    assert small > 1e-8 and abs(small / half - 4) < 0.05  # halve the step, quarter the residual
