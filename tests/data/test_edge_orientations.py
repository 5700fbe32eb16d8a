"""Edge-orientation labels: known answers on drawn edges, and the generated set's shape and seeding."""
import math

import pytest
import torch

from course.data.edge_orientations import edge_orientation_data, edge_orientation_labels


def step_edge(slope_deg: float, size: int = 33) -> torch.Tensor:
    """(1, 3, size, size): dark where (x, y)·direction < 0.3, bright elsewhere; y up on screen."""
    offsets = torch.arange(size, dtype=torch.float32) - size // 2
    x, y = offsets[None, :], -offsets[:, None]
    t = math.radians(slope_deg)
    bright = (x * math.cos(t) + y * math.sin(t) > 0.3).float()  # boundary between pixel centres
    return (0.2 + 0.6 * bright).expand(1, 3, size, size).clone()


@pytest.mark.parametrize("slope_deg, label", [(0, 0), (45, 2), (90, 4), (135, 6), (180, 0), (270, 4)])
def test_the_label_at_a_step_edge_is_its_slope_direction_mod_180(slope_deg, label):
    labels = edge_orientation_labels(step_edge(slope_deg))
    assert labels[0, 16, 16].item() == label


def test_a_flat_image_is_all_flat_and_a_colour_edge_of_equal_brightness_still_counts():
    assert (edge_orientation_labels(torch.full((1, 3, 16, 16), 0.4)) == 8).all()
    edge = step_edge(0)
    colour = torch.stack([edge[0, 0], 1 - edge[0, 0], torch.full_like(edge[0, 0], 0.5)])[None]  # red|green
    assert edge_orientation_labels(colour)[0, 16, 16].item() == 0


def test_generated_set_has_the_stated_shapes_and_repeats_for_a_seed():
    images, labels = edge_orientation_data(6, seed=3)
    assert images.shape == (6, 3, 32, 32) and labels.shape == (6, 32, 32) and labels.dtype == torch.int64
    assert 0 <= labels.min() and labels.max() <= 8
    again, labels_again = edge_orientation_data(6, seed=3)
    assert torch.equal(images, again) and torch.equal(labels, labels_again)
    assert not torch.equal(images, edge_orientation_data(6, seed=4)[0])
    assert len(labels.unique()) == 9  # every direction and "flat" occur in a few images
