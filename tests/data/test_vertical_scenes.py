"""Vertical scenes: seeded, in range, balanced, and the label really is shape + height."""
import pytest
import torch

from course.data.vertical_scenes import CLASSES, HIGH_ROWS, LOW_ROWS, vertical_scenes


def test_scenes_are_rgb_in_range_balanced_and_deterministic_for_a_seed():
    (a, labels), (b, labels_b) = vertical_scenes(400, seed=3), vertical_scenes(400, seed=3)
    assert a.shape == (400, 3, 32, 32) and a.dtype == torch.float32 and labels.dtype == torch.int64
    assert torch.equal(a, b) and torch.equal(labels, labels_b)
    assert not torch.equal(a, vertical_scenes(400, seed=4)[0])
    assert a.min() >= 0 and a.max() <= 1
    counts = torch.bincount(labels, minlength=len(CLASSES))
    assert counts.min() > 70  # about 100 of each of the 4 classes


def test_sky_is_above_ground_on_average():
    images, _ = vertical_scenes(500, seed=0)
    blue_minus_red = (images[:, 2] - images[:, 0]).mean(dim=(0, 2))  # per row, averaged over images and columns
    assert blue_minus_red[:4].mean() > blue_minus_red[-4:].mean() + 0.3


def test_the_object_sits_in_the_height_band_its_label_names():
    # Sky and ground are nearly the same along a row; the object is not. Per row, the spread of the
    # pixels around the row's median therefore peaks at the object's rows.
    images, labels = vertical_scenes(300, seed=1)
    low = labels % 2 == 1
    strong = (images - images.median(dim=3, keepdim=True).values).abs().sum(dim=(1, 3))  # (N, rows)
    peak_row = strong.argmax(dim=1)
    in_band = torch.where(low, peak_row >= LOW_ROWS[0] - 4, peak_row <= HIGH_ROWS[1] + 4)  # radius up to 4
    assert in_band.float().mean() > 0.9  # the rest: clutter or a dark object on dark ground
    assert HIGH_ROWS[1] < LOW_ROWS[0]


def test_rotated_scenes_are_the_same_scenes_turned_by_90_degrees():
    images, labels = vertical_scenes(20, seed=2)
    turned, turned_labels = vertical_scenes(20, seed=2, rotated=True)
    assert torch.equal(turned, torch.rot90(images, 1, dims=(-2, -1))) and torch.equal(turned_labels, labels)


def test_the_shape_task_labels_the_same_images_by_shape_alone():
    images, labels = vertical_scenes(50, seed=5)
    same, shape = vertical_scenes(50, seed=5, task="shape")
    assert torch.equal(same, images) and torch.equal(shape, labels // 2)
    with pytest.raises(ValueError, match="task must be one of"):
        vertical_scenes(2, task="colour")
