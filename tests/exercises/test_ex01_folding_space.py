"""Graded tests for exercise 01 (course/exercises/ex01_folding_space.py): a ReLU net step by step.

Every result is compared with a reference computed here, in the test process, from
torch.nn.functional.linear and torch.relu. The submission runs in a sandbox process
(`course.grading.sandbox`) in which the lesson's `course.chapters.folding_space` functions are switched off.

Tolerances: layer_steps is compared with torch.testing.assert_close's defaults for the
dtype (float64: rtol 1e-7, atol 1e-7; float32: rtol 1.3e-6, atol 1e-5), which any order
of summation over these few small terms meets; assert_close also checks shape and dtype.
dead_fraction and relu_landing are counts, so they must match exactly: the edge cases use
small integers (exact in floating point), and the random cases keep every pre-activation
far from 0 or exactly 0, so that no rounding can decide whether a point dies.
"""
import pytest
import torch
import torch.nn.functional as F

from course.grading.sandbox import exercise

FORBIDDEN = [
    "course.chapters.folding_space.affine_relu_steps",
    "course.chapters.folding_space.dead_mask",
    "course.chapters.folding_space.dead_fraction",
    "course.chapters.folding_space.relu_landing",
    "torch.nn.functional.linear",  # the references below use them, and so does the student copy's library
    "torch.nn.functional.relu",
]

ex01 = exercise("ex01_folding_space", forbid=FORBIDDEN)


# --------------------------------------------------------------------------------------
# The references
# --------------------------------------------------------------------------------------

def reference_steps(points, weights, biases):
    """The affine maps by F.linear, each but the last followed by F.relu (both switched off in the sandbox)."""
    affine = [F.linear(points, weights[0], biases[0])]
    for weight, bias in zip(weights[1:], biases[1:]):
        affine.append(F.linear(F.relu(affine[-1]), weight, bias))
    return [step for a in affine[:-1] for step in (a, F.relu(a))] + affine[-1:]


def reference_dead_fraction(points, weights, biases):
    hidden = reference_steps(points, weights, biases)[1::2]
    if not hidden:
        return 0.0
    dead = torch.stack([(h == 0).all(dim=1) for h in hidden]).any(dim=0)
    return dead.double().mean().item()


def assert_same_steps(result, expected, where=""):
    assert isinstance(result, (list, tuple)), f"{where}expected a list of tensors, got {type(result).__name__}"
    assert len(result) == len(expected), f"{where}expected {len(expected)} steps (2L - 1), got {len(result)}"
    for index, (got, want) in enumerate(zip(result, expected)):
        torch.testing.assert_close(got, want, msg=lambda m: f"{where}step {index}: {m}")


# --------------------------------------------------------------------------------------
# Nets: named edge cases and seeded random ones
# --------------------------------------------------------------------------------------

def f64(values):
    return torch.tensor(values, dtype=torch.float64)


def random_net(sizes, generator, dtype=torch.float64, bias_shift=0.0):
    """Weights (out, in) and biases for layer sizes [d_0, d_1, ..., d_L]."""
    weights = [torch.randn(out, size_in, generator=generator, dtype=dtype) for size_in, out in zip(sizes, sizes[1:])]
    biases = [torch.randn(out, generator=generator, dtype=dtype) + bias_shift for out in sizes[1:]]
    return weights, biases


def net_case(sizes, seed, n=40, dtype=torch.float64, bias_shift=0.0):
    g = torch.Generator().manual_seed(seed)
    points = torch.randn(n, sizes[0], generator=g, dtype=dtype)
    return (points, *random_net(sizes, g, dtype, bias_shift))


STEP_CASES = {
    "lecture_net_2_2_2_2_2_2": net_case([2, 2, 2, 2, 2, 2], seed=101),
    "one_hidden_layer": net_case([2, 2, 2], seed=102),
    "output_layer_only": net_case([2, 2], seed=103),
    "rectangular_layers_2_3_5_1": net_case([2, 3, 5, 1], seed=104),
    "single_point": net_case([2, 4, 2], seed=105, n=1),
    "float32_stays_float32": net_case([2, 2, 2, 2], seed=106, dtype=torch.float32),
}


@pytest.mark.points(1)
def test_layer_steps_gives_the_docstring_example():
    W = [f64([[1.0, 0.0], [0.0, -1.0]]), f64([[1.0, 1.0]])]
    b = [f64([0.0, 1.0]), f64([-1.0])]
    expected = [f64([[2.0, -2.0]]), f64([[2.0, 0.0]]), f64([[1.0]])]
    assert_same_steps(ex01.layer_steps(f64([[2.0, 3.0]]), W, b), expected)


@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(STEP_CASES))
def test_layer_steps_matches_linear_and_relu_on_edge_cases(case):
    points, weights, biases = STEP_CASES[case]
    assert_same_steps(ex01.layer_steps(points, weights, biases), reference_steps(points, weights, biases))


@pytest.mark.points(2)
@pytest.mark.parametrize("seed", [111, 112])
def test_layer_steps_matches_linear_and_relu_on_random_nets(seed):
    g = torch.Generator().manual_seed(seed)
    for _ in range(4):
        depth = int(torch.randint(1, 6, (), generator=g))
        sizes = [int(s) for s in torch.randint(1, 6, (depth + 1,), generator=g)]
        points = torch.randn(int(torch.randint(1, 30, (), generator=g)), sizes[0], generator=g, dtype=torch.float64)
        weights, biases = random_net(sizes, g)
        assert_same_steps(ex01.layer_steps(points, weights, biases), reference_steps(points, weights, biases),
                          where=f"layer sizes {sizes}: ")


# --------------------------------------------------------------------------------------
# dead_fraction
# --------------------------------------------------------------------------------------

def identity_net(hidden_layers, output_bias=0.0):
    """2-2-...-2-1 net whose hidden layers are ReLU(x): the points' own signs decide who dies."""
    eye = torch.eye(2, dtype=torch.float64)
    weights = [eye] * hidden_layers + [f64([[1.0, 1.0]])]
    biases = [f64([0.0, 0.0])] * hidden_layers + [f64([output_bias])]
    return weights, biases


DEAD_CASES = {  # (points, weights, biases, expected fraction, why)
    "docstring_example": (f64([[1.0, 2.0], [-1.0, -2.0], [-1.0, 2.0], [-3.0, -1.0]]), *identity_net(1), 0.5,
                          "two of four points are in quadrant III"),
    "on_an_axis_is_not_dead": (f64([[-1.0, 2.0], [3.0, -1.0], [0.0, 5.0], [-2.0, -2.0]]), *identity_net(1), 0.25,
                               "three points land on an axis, one on the origin"),
    "dead_at_two_layers_counts_once": (f64([[-1.0, -1.0], [-2.0, -3.0], [1.0, 1.0], [2.0, -1.0]]), *identity_net(3),
                                       0.5, "the two dead points stay at the origin through three hidden layers"),
    "revived_by_a_positive_bias_still_counts": (
        f64([[-1.0, -1.0], [-2.0, -1.0], [1.0, 2.0], [3.0, 1.0], [1.0, -4.0]]),
        [torch.eye(2, dtype=torch.float64), f64([[1.0, 0.0], [0.0, 1.0]]), f64([[1.0, -1.0]])],
        [f64([0.0, 0.0]), f64([1.0, 1.0]), f64([0.0])],
        0.4, "layer 1 kills two points; layer 2's bias moves them to (1, 1)"),
    "negative_output_does_not_kill": (f64([[1.0, 2.0], [2.0, 1.0]]), *identity_net(1, output_bias=-10.0), 0.0,
                                      "the output layer's values are all negative, but it has no ReLU"),
    "no_hidden_layer": (f64([[-1.0, -2.0], [-3.0, -1.0]]), [f64([[1.0, 0.0], [0.0, 1.0]])], [f64([-5.0, -5.0])], 0.0,
                        "a net of one output layer has no hidden ReLU"),
    "every_point_dead": (f64([[1.0, 2.0], [-1.0, 0.5], [4.0, 4.0]]),
                         [f64([[1.0, 0.0, ], [0.0, 1.0]]), f64([[1.0, 1.0]])], [f64([-10.0, -10.0]), f64([2.0])],
                         1.0, "a bias of -10 pushes every point into quadrant III"),
}


@pytest.mark.points(1)
@pytest.mark.parametrize("case", list(DEAD_CASES))
def test_dead_fraction_on_edge_cases(case):
    points, weights, biases, expected, why = DEAD_CASES[case]
    assert reference_dead_fraction(points, weights, biases) == expected  # the case itself is right
    result = ex01.dead_fraction(points, weights, biases)
    assert type(result) is float, f"expected a Python float, got {type(result).__name__}"
    torch.testing.assert_close(result, expected, msg=lambda m: f"{why}: {m}")


def integer_net_case(sizes, seed, n=60):
    """Small-integer points and weights: every pre-activation is an exact integer, so whether
    a point sits exactly at the origin does not depend on the order of the sums."""
    g = torch.Generator().manual_seed(seed)
    points = torch.randint(-3, 4, (n, sizes[0]), generator=g).double()
    weights = [torch.randint(-2, 3, (out, size_in), generator=g).double() for size_in, out in zip(sizes, sizes[1:])]
    biases = [torch.randint(-3, 2, (out,), generator=g).double() for out in sizes[1:]]
    return points, weights, biases


@pytest.mark.points(2)
@pytest.mark.parametrize("seed", [121, 122, 123])
def test_dead_fraction_matches_the_reference_on_random_integer_nets(seed):
    g = torch.Generator().manual_seed(seed)
    for trial in range(4):
        depth = int(torch.randint(2, 6, (), generator=g))
        sizes = [2] + [int(s) for s in torch.randint(1, 4, (depth - 1,), generator=g)] + [2]
        points, weights, biases = integer_net_case(sizes, seed * 10 + trial)
        result = ex01.dead_fraction(points, weights, biases)
        assert type(result) is float, f"expected a Python float, got {type(result).__name__}"
        torch.testing.assert_close(result, reference_dead_fraction(points, weights, biases),
                                   msg=lambda m: f"layer sizes {sizes}: {m}")


@pytest.mark.points(1)
def test_dead_fraction_of_a_lecture_net_with_negative_biases():
    points, weights, biases = net_case([2, 2, 2, 2, 2, 2], seed=131, n=200, bias_shift=-0.5)
    expected = reference_dead_fraction(points, weights, biases)
    assert 0.0 < expected < 1.0
    torch.testing.assert_close(ex01.dead_fraction(points, weights, biases), expected)


# --------------------------------------------------------------------------------------
# relu_landing
# --------------------------------------------------------------------------------------

@pytest.mark.points(1)
def test_relu_landing_gives_the_docstring_example():
    result = ex01.relu_landing(f64([[1.0, 2.0], [-1.0, 2.0], [-1.0, -2.0], [0.0, 3.0]]))
    torch.testing.assert_close(result, torch.tensor([0, 1, 2, 1]))


@pytest.mark.points(1)
def test_relu_landing_counts_coordinates_that_are_already_zero():
    points = f64([[0.0, 0.0], [0.0, -1.0], [2.0, 0.0], [0.0, 1e-300], [-0.0, 5.0]])
    torch.testing.assert_close(ex01.relu_landing(points), torch.tensor([2, 2, 1, 1, 1]))


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_relu_landing_matches_relu_on_random_points(dtype):
    g = torch.Generator().manual_seed(141)
    points = torch.randn(500, 2, generator=g, dtype=dtype)
    points[:50, 0] = 0.0  # some points start on an axis
    expected = (torch.relu(points) == 0).sum(dim=1)
    torch.testing.assert_close(ex01.relu_landing(points), expected)
