"""Tuning curves find the orientation of units that are known oriented filters."""
import math

import pytest
import torch

from course.analysis.stimuli import colour_contrast, gratings
from course.analysis.tuning import group_responses, preferred_angle, selectivity, tuning
from known_units import filter_unit_model, gabor


@pytest.mark.parametrize("theta", (30.0, 100.0, 165.0))
def test_a_gabor_unit_prefers_its_own_grating_orientation(theta):
    model = filter_unit_model(gabor(theta_deg=theta, frequency=0.15), channels=3)
    images, params = gratings(size=32, orientations_deg=range(0, 180, 5), frequencies=(0.15,),
                              phases=torch.linspace(0, 2 * math.pi, 9)[:-1].tolist())
    angles, curve = tuning(model, "relu:0", images, params, over="orientation")
    assert angles.shape == curve.shape == (36,)
    error = (preferred_angle(angles, curve, period=180) - theta + 90) % 180 - 90
    assert abs(error) < 3  # measured: under 0.5 degree
    assert selectivity(angles, curve, period=180) > 0.3  # measured 0.42-0.48 (a broad Gabor)


def test_an_isotropic_unit_is_not_selective():
    offsets = torch.arange(9.0) - 4
    blob = torch.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / 4)
    model = filter_unit_model(blob - blob.mean(), channels=3)
    images, params = gratings(size=32, orientations_deg=range(0, 180, 5), frequencies=(0.15,))
    angles, curve = tuning(model, "relu:0", images, params, over="orientation")
    assert selectivity(angles, curve, period=180) < 0.1  # measured 0.054 (pixel grid, square kernel); Gabors 0.42+


def test_an_edge_unit_has_a_preferred_side_over_the_full_turn():
    edge = gabor(theta_deg=250.0, frequency=0.06, sigma=3.0, odd=True)  # bright on the side 250° points to
    model = filter_unit_model(edge, channels=3)
    images, params = colour_contrast(size=32, orientations_deg=range(0, 360, 10),
                                     colour_pairs=(((1, 1, 1), (0, 0, 0)),))
    angles, curve = tuning(model, "relu:0", images, params, over="orientation")
    error = (preferred_angle(angles, curve, period=360) - 250 + 180) % 360 - 180
    assert abs(error) < 3


def test_preferred_angle_wraps_around_and_selectivity_spans_zero_to_one():
    angles = torch.arange(0, 360, 10.0)
    bump = torch.exp(2 * torch.cos(torch.deg2rad(angles - 350)))  # von Mises peaked at 350
    assert abs(preferred_angle(angles, bump) - 350) < 1e-4  # float32 inputs
    assert selectivity(angles, torch.ones(36)) < 1e-9
    one_angle = torch.zeros(36)
    one_angle[4] = 2.0
    assert selectivity(angles, one_angle) == pytest.approx(1.0)
    assert preferred_angle(angles, -torch.ones(36)) != preferred_angle(angles, -torch.ones(36))  # nan: nothing fires
    assert selectivity(angles, -torch.ones(36)) == 0.0


def test_group_responses_combines_nuisance_parameters_and_builds_heatmaps():
    params = {"a": torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0]), "b": torch.tensor([5.0, 6.0, 5.0, 6.0, 6.0])}
    responses = torch.tensor([1.0, 3.0, 2.0, 0.0, 4.0])
    values, best = group_responses(responses, params, "a")
    torch.testing.assert_close(values, torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(best, torch.tensor([3.0, 4.0]))
    _, mean = group_responses(responses, params, "a", combine="mean")
    torch.testing.assert_close(mean, torch.tensor([2.0, 2.0]))
    (va, vb), table = group_responses(responses, params, ("a", "b"), combine="mean")
    torch.testing.assert_close(table, torch.tensor([[1.0, 3.0], [2.0, 2.0]]))
    with pytest.raises(ValueError, match="over"):
        group_responses(responses, params, "c")
