"""course/chapters/parameter_transformations.py: G with per-sample weights, the hypernetwork and the fixed-G baseline."""
import torch

from course.chapters.parameter_transformations import (FixedTarget, HyperNetwork, curves_for, target_forward,
                                                       target_parameter_count)
from course.models import parameter_count


def loop_target(x, theta, hidden):
    """G one sample at a time, from the layout [V row by row | b | r | s]."""
    d = x.shape[1]
    out = []
    for xb, tb in zip(x, theta):
        V = tb[: hidden * d].reshape(hidden, d)
        b, r, s = tb[hidden * d : hidden * d + hidden], tb[hidden * d + hidden : -1], tb[-1]
        out.append(r @ torch.tanh(V @ xb + b) + s)
    return torch.stack(out)


def test_target_forward_follows_the_documented_layout():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 2, generator=g, dtype=torch.float64)
    theta = torch.randn(5, target_parameter_count(3, 2), generator=g, dtype=torch.float64)
    torch.testing.assert_close(target_forward(x, theta, 3), loop_target(x, theta, 3))


def test_parameter_counts_of_the_lesson_models():
    torch.manual_seed(0)
    assert target_parameter_count(16) == 49
    assert parameter_count(HyperNetwork()) == 3 * 64 + 64 + 64 * 49 + 49
    assert parameter_count(FixedTarget()) == 4 * 16 + 16 + 16 + 1
    assert parameter_count(FixedTarget(sees_context=False)) == 49


def test_hypernetwork_gives_each_context_its_own_weights():
    torch.manual_seed(0)
    model = HyperNetwork()
    rows = torch.tensor([[1.0, 1.0, 0.0, 0.5], [0.5, 2.0, 1.0, 0.5]])
    theta = model.weights_for(rows[:, :3])
    assert theta.shape == (2, 49) and not torch.allclose(theta[0], theta[1])
    torch.testing.assert_close(model(rows)[:, 0], target_forward(rows[:, 3:], theta, 16))


def test_blind_fixed_target_ignores_the_context_columns():
    torch.manual_seed(0)
    blind = FixedTarget(sees_context=False)
    rows = torch.tensor([[1.0, 1.0, 0.0, 0.5], [0.5, 2.0, 1.0, 0.5]])
    out = blind(rows)
    assert out.shape == (2, 1) and torch.equal(out[0], out[1])


def test_curves_for_returns_one_curve_per_context():
    torch.manual_seed(0)
    curves = curves_for(HyperNetwork(), torch.rand(3, 3), torch.linspace(-1, 1, 7))
    assert curves.shape == (3, 7)

