"""course/chapters/parameter_transformations.py: copies, the 0/1 Jacobian, summed tied gradients, tied steps."""
import torch

from course.chapters.parameter_transformations import (circulant_index, share, sharing_matrix, spread_within_copies,
                                                       sum_tied_gradients, tied_and_untied_step, tied_gradients,
                                                       tied_problem)


def test_share_copies_and_keeps_the_index_shape():
    u = torch.tensor([1.0, 2.0, 3.0])
    index = torch.tensor([[0, 0], [2, 1]])
    torch.testing.assert_close(share(u, index), torch.tensor([[1.0, 1.0], [3.0, 2.0]]))


def test_sharing_matrix_rows_are_one_hot_and_give_share():
    index = torch.tensor([1, 1, 0, 3, 1])
    J = sharing_matrix(index, 4)
    assert J.shape == (5, 4) and torch.equal(J.sum(dim=1), torch.ones(5, dtype=torch.float64))
    u = torch.tensor([0.5, -1.0, 2.0, 4.0], dtype=torch.float64)
    torch.testing.assert_close(J @ u, share(u, index))


def test_sum_tied_gradients_matches_autograd_and_leaves_unused_parameters_at_zero():
    index = torch.tensor([[2, 2], [0, 2]])
    grad_w = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    u = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    (share(u, index) * grad_w).sum().backward()
    torch.testing.assert_close(sum_tied_gradients(grad_w, index, 4), u.grad)
    torch.testing.assert_close(u.grad, torch.tensor([3.0, 0.0, 7.0, 0.0], dtype=torch.float64))


def test_circulant_index_shifts_each_row_by_one():
    index = circulant_index(4)
    assert index[0].tolist() == [0, 1, 2, 3] and index[1].tolist() == [3, 0, 1, 2]
    assert torch.bincount(index.reshape(-1)).tolist() == [4, 4, 4, 4]


def test_tied_gradients_agree_three_ways():
    grads = tied_gradients(tied_problem(seed=3))
    assert grads.hand_error < 1e-12 and grads.jacobian_error < 1e-12  # float64 rounding only
    assert grads.grad_w.shape == (4, 4) and grads.grad_u.shape == (4,)


def test_tied_step_keeps_copies_equal_and_untied_step_does_not():
    problem = tied_problem(seed=4)
    step = tied_and_untied_step(problem, lr=0.1)
    assert step.formula_error < 1e-12
    assert spread_within_copies(step.w + step.change_tied, problem.index) < 1e-12
    assert spread_within_copies(step.w + step.change_untied, problem.index) > 1e-4
    assert step.cost_tied < step.cost_before
