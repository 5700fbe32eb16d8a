"""The chevron data set: seeded, in the box, labelled by the V, with an empty gap around it."""
import torch

from course.data.two_class_plane import BOX, PointSet, chevron, chevron_boundary


def test_same_seed_same_points_other_seed_other_points():
    a, b, c = chevron(100, 3), chevron(100, 3), chevron(100, 4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_points_lie_in_the_box_with_labels_from_the_v_and_a_gap_around_it():
    points, labels = chevron(500, 0, margin=0.2)
    assert points.shape == (500, 2) and points.dtype == torch.float32 and labels.dtype == torch.int64
    assert points.abs().max() <= BOX
    height = points[:, 1] - chevron_boundary(points[:, 0])
    assert torch.equal(labels, (height > 0).long())
    assert height.abs().min() >= 0.2
    assert 0.2 < labels.double().mean() < 0.5  # both classes well represented


def test_point_set_items_are_the_rows():
    points, labels = chevron(10, 1)
    data = PointSet(points, labels)
    assert len(data) == 10
    x, y = data[7]
    assert torch.equal(x, points[7]) and torch.equal(y, labels[7])
