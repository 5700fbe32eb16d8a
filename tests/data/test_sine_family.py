"""course/data/sine_family.py: the context-indexed family y = a sin(b x + c)."""
import torch

from course.data.sine_family import AMPLITUDE, FREQUENCY, PHASE, X_RANGE, sine_curve, sine_family


def test_rows_are_context_then_x_and_targets_follow_the_formula():
    inputs, targets = sine_family(10, 7, seed=0)
    assert inputs.shape == (70, 4) and targets.shape == (70, 1)
    a, b, c, x = inputs.unbind(1)
    torch.testing.assert_close(targets[:, 0], a * torch.sin(b * x + c))
    assert torch.equal(inputs[:7, :3], inputs[:1, :3].expand(7, 3))  # one context per block of points


def test_values_lie_in_their_ranges():
    inputs, _ = sine_family(200, 5, seed=1)
    for column, (low, high) in enumerate((AMPLITUDE, FREQUENCY, PHASE, X_RANGE)):
        assert low <= inputs[:, column].min() and inputs[:, column].max() <= high


def test_seeded_and_seed_dependent():
    assert torch.equal(sine_family(5, 5, seed=2)[0], sine_family(5, 5, seed=2)[0])
    assert not torch.equal(sine_family(5, 5, seed=2)[0], sine_family(5, 5, seed=3)[0])


def test_sine_curve_broadcasts_contexts_against_x():
    contexts = torch.tensor([[1.0, 1.0, 0.0], [2.0, 0.5, 1.0]])
    x = torch.linspace(-1, 1, 5)
    curves = sine_curve(contexts[:, None, :], x[None, :])
    assert curves.shape == (2, 5)
    torch.testing.assert_close(curves[1], 2.0 * torch.sin(0.5 * x + 1.0))
