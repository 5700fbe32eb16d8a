"""Graded tests for exercise 02 (course/exercises/ex02_parameter_transformations.py).

The references are computed here, in the test process: `share` against plain indexing,
`shared_grad` and `induced_update` against what autograd finds when it differentiates
through the copy, and the two network functions against a sample-by-sample loop that
builds G's weight matrices from the documented layout. The submission runs in a sandbox
process in which the course's own versions are switched off.

Tolerance: float64 inputs use torch.testing.assert_close's float64 defaults (rtol 1e-7,
atol 1e-7), which any order of summation over these few small terms meets; float32 cases
use the float32 defaults (rtol 1.3e-6, atol 1e-5). assert_close also checks shape and dtype.
"""
import pytest
import torch
import torch.nn.functional as F

from course.grading.sandbox import exercise

FORBIDDEN = [
    "course.chapters.parameter_transformations.share",
    "course.chapters.parameter_transformations.sharing_matrix",
    "course.chapters.parameter_transformations.sum_tied_gradients",
    "course.chapters.parameter_transformations.target_forward",
    # the references below use these, and so does the student copy's library:
    "torch.autograd.grad",
    "torch.autograd.backward",
    "torch.Tensor.backward",
    "torch.take",
    "torch.nn.functional.linear",
]

ex02 = exercise("ex02_parameter_transformations", forbid=FORBIDDEN)


def f64(values):
    return torch.tensor(values, dtype=torch.float64)


def circulant_index(n):
    r = torch.arange(n)
    return (r[None, :] - r[:, None]) % n


# --------------------------------------------------------------------------------------
# Weight sharing: references by indexing and by autograd through the copy
# --------------------------------------------------------------------------------------

def autograd_grad_u(grad_w, index, n):
    """dC/du for C = sum(w * grad_w), w = u[index]: so dC/dw = grad_w, and autograd does the rest."""
    u = torch.zeros(n, dtype=grad_w.dtype, requires_grad=True)
    (u[index] * grad_w).sum().backward()
    return u.grad


def autograd_change_of_w(grad_w, index, n, lr):
    """share(u - lr dC/du) - share(u), with dC/du from autograd, at a random u."""
    u = torch.randn(n, generator=torch.Generator().manual_seed(7), dtype=grad_w.dtype)
    step = u - lr * autograd_grad_u(grad_w, index, n)
    return step[index] - u[index]


SHARING_CASES = {  # name: (n, index); every index entry < n
    "two_parameters_two_copies_each": (2, torch.tensor([0, 0, 1, 1])),
    "circulant_matrix_index": (4, circulant_index(4)),
    "unused_parameters_at_both_ends": (6, torch.tensor([2, 3, 3, 1, 2, 2, 3])),
    "one_parameter_everywhere": (3, torch.full((2, 5), 1)),
    "fewer_weights_than_parameters": (7, torch.tensor([5, 1, 5])),
}


def random_sharing_case(seed):
    """(n, index) with an index of random shape (1 to 3 axes); n differs from index.numel()."""
    g = torch.Generator().manual_seed(seed)
    shape = tuple(int(s) for s in torch.randint(1, 5, (int(torch.randint(1, 4, (), generator=g)),), generator=g))
    n = int(torch.randint(1, 9, (), generator=g))
    index = torch.randint(0, n, shape, generator=g)
    if index.numel() == n:
        n += 1  # one unused parameter, so that n and the number of weights differ
    return n, index


def grad_w_for(index, seed, dtype=torch.float64):
    return torch.randn(index.shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@pytest.mark.points(1)
def test_share_copies_on_the_lesson_example():
    w = ex02.share(f64([1.5, -2.0]), torch.tensor([0, 0, 1, 1]))
    torch.testing.assert_close(w, f64([1.5, 1.5, -2.0, -2.0]))


@pytest.mark.points(2)
@pytest.mark.parametrize("case", list(SHARING_CASES))
def test_share_matches_indexing_on_edge_cases(case):
    n, index = SHARING_CASES[case]
    u = torch.randn(n, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
    torch.testing.assert_close(ex02.share(u, index), u[index])


@pytest.mark.points(1)
def test_share_matches_indexing_on_random_cases_and_keeps_float32():
    for seed in range(201, 211):
        n, index = random_sharing_case(seed)
        u = torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)
        torch.testing.assert_close(ex02.share(u, index), u[index], msg=lambda m: f"{m}\nn={n}, index={index}")


@pytest.mark.points(1)
def test_shared_grad_sums_the_copies_on_the_lesson_example():
    g = ex02.shared_grad(f64([1.0, 2.0, 3.0, 4.0]), torch.tensor([0, 0, 1, 1]), 3)
    torch.testing.assert_close(g, f64([3.0, 7.0, 0.0]))  # copies add; the unused u[2] gets 0


@pytest.mark.points(2)
@pytest.mark.parametrize("case", list(SHARING_CASES))
def test_shared_grad_matches_autograd_on_edge_cases(case):
    n, index = SHARING_CASES[case]
    grad_w = grad_w_for(index, seed=n)
    torch.testing.assert_close(ex02.shared_grad(grad_w, index, n), autograd_grad_u(grad_w, index, n))


@pytest.mark.points(2)
def test_shared_grad_matches_autograd_on_random_cases_and_keeps_float32():
    for seed in range(211, 221):
        n, index = random_sharing_case(seed)
        grad_w = grad_w_for(index, seed, dtype=torch.float64 if seed % 2 else torch.float32)
        torch.testing.assert_close(ex02.shared_grad(grad_w, index, n), autograd_grad_u(grad_w, index, n),
                                   msg=lambda m: f"{m}\nn={n}, index={index}")


@pytest.mark.points(1)
def test_induced_update_moves_every_copy_by_the_sum_on_the_lesson_example():
    delta = ex02.induced_update(f64([1.0, 2.0, 3.0, 4.0]), torch.tensor([0, 0, 1, 1]), 0.5)
    torch.testing.assert_close(delta, f64([-1.5, -1.5, -3.5, -3.5]))


@pytest.mark.points(2)
@pytest.mark.parametrize("case", list(SHARING_CASES))
def test_induced_update_matches_a_step_on_u_on_edge_cases(case):
    n, index = SHARING_CASES[case]
    grad_w = grad_w_for(index, seed=n + 100)
    torch.testing.assert_close(ex02.induced_update(grad_w, index, 0.3), autograd_change_of_w(grad_w, index, n, 0.3))


@pytest.mark.points(2)
def test_induced_update_matches_a_step_on_u_on_random_cases():
    for seed in range(221, 231):
        n, index = random_sharing_case(seed)
        grad_w = grad_w_for(index, seed, dtype=torch.float64 if seed % 2 else torch.float32)
        lr = 0.05 * (seed - 220)
        torch.testing.assert_close(ex02.induced_update(grad_w, index, lr), autograd_change_of_w(grad_w, index, n, lr),
                                   msg=lambda m: f"{m}\nn={n}, index={index}, lr={lr}")


# --------------------------------------------------------------------------------------
# The hypernetwork: G with per-sample weights, and H producing them
# --------------------------------------------------------------------------------------

def reference_target(x, theta):
    """G sample by sample with F.linear, its weight matrices cut out of theta as the docstring lays them out."""
    B, d = x.shape
    h = (theta.shape[1] - 1) // (d + 2)
    outputs = []
    for b in range(B):
        V = torch.stack([theta[b, j * d : (j + 1) * d] for j in range(h)])  # row j of V
        c, r, s = theta[b, h * d : h * d + h], theta[b, h * d + h : h * d + 2 * h], theta[b, h * d + 2 * h]
        outputs.append(F.linear(torch.tanh(F.linear(x[b], V, c)), r[None], s[None])[0])
    return torch.stack(outputs)


def reference_hyper(context, x, hyper_weights):
    A1, a1, A2, a2 = hyper_weights
    theta = torch.stack([A2 @ torch.tanh(A1 @ context[b] + a1) + a2 for b in range(len(context))])
    return reference_target(x, theta)


def network_case(B, d, h, seed, dtype=torch.float64, m=3, k=5):
    """x (B, d), theta (B, P), context (B, m) and H's weights, all seeded."""
    g = torch.Generator().manual_seed(seed)
    P = h * (d + 2) + 1
    x = torch.randn(B, d, generator=g, dtype=dtype)
    theta = torch.randn(B, P, generator=g, dtype=dtype)
    context = torch.randn(B, m, generator=g, dtype=dtype)
    hyper_weights = [torch.randn(k, m, generator=g, dtype=dtype), torch.randn(k, generator=g, dtype=dtype),
                     torch.randn(P, k, generator=g, dtype=dtype), torch.randn(P, generator=g, dtype=dtype)]
    return x, theta, context, hyper_weights


NETWORK_CASES = {  # name: (B, d, h)
    "one_sample_one_unit_scalar_input": (1, 1, 1),
    "scalar_input_as_in_the_lesson": (6, 1, 16),
    "vector_input_more_units_than_inputs": (5, 2, 4),
    "vector_input_more_inputs_than_units": (4, 5, 3),
}


@pytest.mark.points(1)
def test_target_forward_on_a_hand_example():
    # h = 1, d = 1: y = r tanh(V x + c) + s with V = 1, c = 0.5, r = 2, s = -1, at x = 0 and x = 1.
    y = ex02.target_forward(f64([[0.0], [1.0]]), f64([[1.0, 0.5, 2.0, -1.0], [1.0, 0.5, 2.0, -1.0]]))
    torch.testing.assert_close(y, 2 * torch.tanh(f64([0.5, 1.5])) - 1)


@pytest.mark.points(2)
@pytest.mark.parametrize("case", list(NETWORK_CASES))
def test_target_forward_matches_the_layout_on_edge_cases(case):
    B, d, h = NETWORK_CASES[case]
    x, theta, _, _ = network_case(B, d, h, seed=B * 10 + d)
    torch.testing.assert_close(ex02.target_forward(x, theta), reference_target(x, theta))


@pytest.mark.points(2)
@pytest.mark.parametrize("seed", [241, 242])
def test_target_forward_matches_the_layout_on_random_cases_and_keeps_float32(seed):
    g = torch.Generator().manual_seed(seed)
    B, d, h = (int(v) for v in torch.randint(1, 7, (3,), generator=g))
    x, theta, _, _ = network_case(B, d, h, seed, dtype=torch.float32 if seed % 2 else torch.float64)
    torch.testing.assert_close(ex02.target_forward(x, theta), reference_target(x, theta))


@pytest.mark.points(2)
@pytest.mark.parametrize("case", list(NETWORK_CASES))
def test_hyper_forward_matches_the_reference_on_edge_cases(case):
    B, d, h = NETWORK_CASES[case]
    x, _, context, hyper_weights = network_case(B, d, h, seed=B * 10 + d + 1)
    torch.testing.assert_close(ex02.hyper_forward(context, x, hyper_weights), reference_hyper(context, x, hyper_weights))


@pytest.mark.points(2)
@pytest.mark.parametrize("seed", [251, 252])
def test_hyper_forward_matches_the_reference_on_random_cases_and_keeps_float32(seed):
    g = torch.Generator().manual_seed(seed)
    B, d, h, m, k = (int(v) for v in torch.randint(1, 7, (5,), generator=g))
    x, _, context, hyper_weights = network_case(B, d, h, seed, dtype=torch.float32 if seed % 2 else torch.float64,
                                                m=m, k=k)
    torch.testing.assert_close(ex02.hyper_forward(context, x, hyper_weights), reference_hyper(context, x, hyper_weights))


@pytest.mark.points(1)
def test_hyper_forward_gives_each_context_its_own_network():
    # Two samples with the same x and different contexts must generally get different outputs,
    # and swapping the contexts swaps the outputs.
    x, _, context, hyper_weights = network_case(2, 2, 4, seed=260)
    x = x[:1].repeat(2, 1)
    y = ex02.hyper_forward(context, x, hyper_weights)
    y_swapped = ex02.hyper_forward(context.flip(0), x, hyper_weights)
    torch.testing.assert_close(y_swapped, y.flip(0))
    torch.testing.assert_close(y, reference_hyper(context, x, hyper_weights))
