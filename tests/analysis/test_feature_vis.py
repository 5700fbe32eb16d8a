"""Feature visualisation on units that are known filters: the image found looks like the filter."""
import time

import pytest
import torch

from course.analysis.feature_vis import colour_correlation_root, fourier_image, random_transform, visualize
from course.analysis.units import unit_response
from course.data.natural_images import natural_images
from known_units import filter_unit_model, gabor


@pytest.fixture(scope="module")
def gabor_unit():
    kernel = gabor(theta_deg=30.0, frequency=0.15)
    return kernel, filter_unit_model(kernel, channels=1)


@pytest.fixture(scope="module")
def one_channel_run(gabor_unit):
    _, model = gabor_unit
    start = time.perf_counter()
    images, history = visualize(model, "relu:0", channels=1, steps=200, seed=0)
    return images, history, time.perf_counter() - start


def test_the_objective_rises(one_channel_run):
    _, history, _ = one_channel_run
    assert len(history) == 200
    assert sum(history[-20:]) / 20 > 3 * history[0]  # measured: about 5x (history is noisy: random transforms)


def test_the_image_correlates_with_the_filter_on_one_channel_without_resizing(one_channel_run, gabor_unit):
    kernel, _ = gabor_unit
    images, _, _ = one_channel_run
    assert images.shape == (1, 1, 32, 32) and images.min() >= 0 and images.max() <= 1
    window = images[0, 0, 12:21, 12:21] - 0.5  # the centre unit's 9×9 receptive field
    correlation = torch.corrcoef(torch.stack([window.flatten(), kernel.flatten()]))[0, 1]
    assert correlation > 0.6  # measured: 0.68 (pixels saturate at 0/1, the filter has a Gaussian envelope)


def test_the_image_drives_the_unit_far_above_its_mean_on_data(one_channel_run, gabor_unit):
    _, model = gabor_unit
    images, _, _ = one_channel_run
    data = natural_images(256, seed=1).mean(dim=1, keepdim=True)
    factor = unit_response(model, images, "relu:0") / unit_response(model, data, "relu:0").mean()
    assert factor > 5  # measured: about 11


def test_it_is_fast_on_a_tiny_model(one_channel_run):
    _, _, seconds = one_channel_run
    assert seconds < 4  # 200 steps; measured about 1 s on one busy thread (contract: about 1 s per 100 steps)


def test_colour_model_batch_with_diversity_is_deterministic_and_makes_different_images():
    model = filter_unit_model(gabor(theta_deg=120.0), channels=3)
    first, history = visualize(model, "relu:0", steps=60, batch=2, diversity=1.0, seed=3)
    again, _ = visualize(model, "relu:0", steps=60, batch=2, diversity=1.0, seed=3)
    assert first.shape == (2, 3, 32, 32)
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert (first[0] - first[1]).abs().mean() > 0.05
    assert history[-1] > history[0]


def test_fourier_image_starts_grey_and_colour_root_is_symmetric():
    spectrum = torch.zeros(1, 3, 16, 9, 2)
    torch.testing.assert_close(fourier_image(spectrum, 16), torch.full((1, 3, 16, 16), 0.5))
    root = colour_correlation_root()
    torch.testing.assert_close(root, root.T)
    assert root.norm(dim=0).max() == pytest.approx(1.0)


def test_random_transform_keeps_the_size_and_is_seeded():
    images = torch.rand(3, 2, 12, 12, generator=torch.Generator().manual_seed(0))
    a = random_transform(images, torch.Generator().manual_seed(1))
    b = random_transform(images, torch.Generator().manual_seed(1))
    assert a.shape == images.shape
    torch.testing.assert_close(a, b, rtol=0, atol=0)
