"""Dataset examples find the images, and the places in them, where a planted pattern sits."""
from collections import OrderedDict

import pytest
import torch
from torch import nn

from course.analysis.dataset_examples import cut_windows, top_examples, top_windows


def dot_detector():
    """conv 3×3 'bright centre, dark ring' on the red channel, then ReLU and a 2×2 max pool."""
    conv = nn.Conv2d(3, 2, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[1, 0] = -1.0
        conv.weight[1, 0, 1, 1] = 8.0
    return nn.Sequential(OrderedDict(conv=conv, relu=nn.ReLU(), pool=nn.MaxPool2d(2)))


def images_with_dots():
    """20 dim noise images; images 3, 11 and 17 get a bright red dot of growing strength."""
    images = 0.1 * torch.rand(20, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    for index, (y, x), strength in zip((3, 11, 17), ((0, 3), (9, 12), (13, 6)), (0.5, 0.7, 0.9)):
        images[index, 0, y, x] = strength
    return images


def test_top_examples_are_the_images_with_the_strongest_patterns():
    indices, activations, top = top_examples(dot_detector(), "pool:1", images_with_dots(), k=3)
    assert indices.tolist() == [17, 11, 3]
    assert (activations[:-1] >= activations[1:]).all()
    torch.testing.assert_close(top, images_with_dots()[indices])


def test_crops_are_centred_on_the_pattern_and_stay_inside_the_image():
    indices, _, crops = top_examples(dot_detector(), "relu:1", images_with_dots(), k=3, crop=5)
    assert crops.shape == (3, 3, 5, 5)
    assert crops[0, 0, 2, 2] == pytest.approx(0.9)  # image 17: dot at (13, 6), the window's centre
    assert crops[1, 0, 2, 2] == pytest.approx(0.7)
    assert crops[2, 0, 0, 2] == pytest.approx(0.5)  # image 3: dot at (0, 3) on the top edge: the window moves down


def test_windows_cut_an_aligned_mask_at_the_same_places_as_the_crops():
    images = images_with_dots()
    indices, _, crops = top_examples(dot_detector(), "relu:1", images, k=3, crop=5)
    same, _, windows = top_windows(dot_detector(), "relu:1", images, k=3, crop=5)
    assert same.tolist() == indices.tolist()
    masks = (images[:, 0] > 0.4).float()  # (N, H, W): where the dots are
    cut = cut_windows(masks[indices], windows, 5)
    assert cut.shape == (3, 5, 5)
    torch.testing.assert_close(cut, (crops[:, 0] > 0.4).float())
