"""The narrow net read as explicit steps: reconstruction, dead points, ReLU landings, line search."""
import math

import pytest
import torch

from course.chapters.folding_space import (a_net_that_reached, affine_relu_steps, best_line_accuracy, dead_fraction,
                                           dead_mask, forced_error, grid_lines, layer_parameters, plane_net,
                                           predicted_classes, quadrant, relu_landing, step_names, training_experiment)
from course.data.two_class_plane import chevron



def test_plane_net_has_the_lecture_shape():
    net = plane_net(2)
    weights, biases = layer_parameters(net)
    assert [tuple(w.shape) for w in weights] == [(2, 2)] * 5
    assert [tuple(b.shape) for b in biases] == [(2,)] * 5
    wide_shapes = [tuple(w.shape) for w in layer_parameters(plane_net(16))[0]]
    assert wide_shapes == [(16, 2), (16, 16), (16, 16), (16, 16), (2, 16)]


def test_explicit_steps_reproduce_the_module_exactly():
    torch.manual_seed(0)
    net = plane_net(2)
    points = torch.randn(50, 2)
    steps = affine_relu_steps(points, *layer_parameters(net))
    assert len(steps) == 9 == len(step_names(5))
    with torch.no_grad():
        torch.testing.assert_close(steps[-1], net(points), rtol=0, atol=1e-6)  # same float32 ops, same order
        torch.testing.assert_close(steps[1], torch.relu(net[0](points)))


def test_dead_points_are_those_at_the_origin_of_some_hidden_layer():
    eye = torch.eye(2)
    weights, biases = [eye, eye, torch.ones(1, 2)], [torch.zeros(2), torch.ones(2), torch.zeros(1)]
    points = torch.tensor([[-1.0, -2.0], [1.0, 2.0], [-1.0, 3.0]])
    # layer 1 sends the first point to the origin, layer 2's bias moves it off again: still dead
    assert dead_mask(points, weights, biases).tolist() == [True, False, False]
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 2))
    with torch.no_grad():
        net[0].weight.copy_(eye), net[0].bias.zero_()
    assert dead_fraction(net, points) == pytest.approx(1 / 3)


def test_forced_error_counts_the_minority_merged_at_the_origin():
    eye = torch.eye(2)
    weights, biases = [eye, torch.ones(1, 2)], [torch.zeros(2), torch.zeros(1)]
    points = torch.tensor([[-1.0, -1.0], [-2.0, -1.0], [-3.0, -3.0], [1.0, 1.0]])
    labels = torch.tensor([0, 0, 1, 1])  # three points merge at the origin, one of them class 1
    assert forced_error(points, labels, weights, biases) == pytest.approx(1 / 4)


def test_relu_landing_and_quadrants():
    points = torch.tensor([[1.0, 2.0], [-1.0, 2.0], [-1.0, -2.0], [1.0, -2.0], [0.0, 3.0]])
    assert relu_landing(points).tolist() == [0, 1, 2, 1, 1]
    assert quadrant(points).tolist() == [0, 1, 2, 3, 0]


def test_best_line_accuracy_is_one_for_separable_and_lower_for_xor():
    g = torch.Generator().manual_seed(0)
    points = torch.randn(200, 2, generator=g)
    tilted = (points @ torch.tensor([math.cos(0.3), math.sin(0.3)]) > 0.2).long()
    assert best_line_accuracy(points, tilted, directions=3600) >= 0.99
    assert best_line_accuracy(points, 1 - tilted, directions=3600) >= 0.99  # either side may be class 1
    xor = ((points[:, 0] > 0) ^ (points[:, 1] > 0)).long()
    assert best_line_accuracy(points, xor) < 0.8


def test_grid_lines_cover_the_box():
    lines = grid_lines(1.5, lines=5, samples=7)
    assert lines.shape == (10, 7, 2)
    assert lines[0, :, 0].eq(-1.5).all() and lines[5, :, 1].eq(-1.5).all()
    assert lines.abs().max() == 1.5


def test_predicted_classes_rows_go_up_in_x2():
    net = torch.nn.Linear(2, 2)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[0.0, -1.0], [0.0, 1.0]])), net.bias.zero_()  # class 1 where x2 > 0
    regions = predicted_classes(net, 1.0, resolution=4)
    assert regions[0].eq(0).all() and regions[-1].eq(1).all()


def test_training_experiment_wide_beats_narrow_and_reuses_a_net_that_reached():
    points, labels = chevron(128, 0)
    runs = training_experiment(points, labels, (2, 16), range(3), 0.97, epochs=20, lr=0.03, batch_size=64)
    assert runs[16].success_rate == 1.0
    assert len(runs[2].loss_curves[0]) == 20 and len(runs[2].nets) == 3
    assert runs[2].mean("dead_at_init") > runs[16].mean("dead_at_init")
    net, seed, accuracy = a_net_that_reached(runs[16], points, labels, epochs=20, lr=0.03, batch_size=64)
    assert seed == 0 and accuracy == runs[16].final_accuracy[0] and net is runs[16].nets[0]
