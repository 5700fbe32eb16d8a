"""Receptive fields by formula agree with gradient footprints; the twin keeps the geometry."""
import torch
from torch import nn

from course.chapters.deep_conv_nets import (footprint, geometry_twin, layer_geometry, layer_receptive_fields,
                                            measure_layer_fields, receptive_field)
from course.models import SmallCNN



def test_formula_for_the_course_cnn():
    layers = [spec for _, spec in layer_geometry(SmallCNN())]
    assert layers == [(3, 1, 1, 1), (2, 2, 0, 1)] * 3
    assert [size for size, _, _ in layer_receptive_fields(layers)] == [3, 4, 8, 10, 18, 22]
    assert receptive_field(layers) == (22, 8, -7)
    assert receptive_field([]) == (1, 1, 0)


def test_dilation_spreads_the_taps():
    assert receptive_field([(3, 1, 0, 2)]) == (5, 1, 0)
    assert receptive_field([(3, 2, 1, 1), (3, 1, 0, 2)]) == (11, 2, -1)


def test_every_layer_of_the_course_cnn_matches_its_gradient_footprint():
    rows = measure_layer_fields(SmallCNN(), in_channels=1, image_size=32)
    assert [row["label"] for row in rows] == ["conv 1", "pool 1", "conv 2", "pool 2", "conv 3", "pool 3"]
    assert all(row["exact"] for row in rows)


def test_a_stack_with_stride_and_padding_matches_its_gradient_footprint():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 5, stride=2, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
                          nn.Conv2d(3, 4, 3, padding=1))
    assert all(row["exact"] for row in measure_layer_fields(model, in_channels=2, image_size=48))


def test_geometry_twin_keeps_shapes_but_uses_average_pooling():
    model = SmallCNN()
    twin = geometry_twin(model)
    assert [spec for _, spec in layer_geometry(twin)] == [spec for _, spec in layer_geometry(model)]
    assert not any(isinstance(m, nn.MaxPool2d) for m in twin.modules())
    assert any(isinstance(m, nn.MaxPool2d) for m in model.modules())  # the original is untouched


def test_footprint_reports_the_bounding_box():
    grid = torch.zeros(10, 10)
    grid[2:5, 3:7] = 1.0
    assert footprint(grid) == {"rows": (2, 4), "cols": (3, 6), "height": 3, "width": 4, "count": 12}
    assert footprint(torch.zeros(4, 4))["count"] == 0
