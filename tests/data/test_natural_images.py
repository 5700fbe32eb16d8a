"""The natural-like image generator: seeded, in range, with edges, textures and blur where it says."""
import torch

from course.data.natural_images import gaussian_blur, images_per_second, natural_images


def test_images_are_rgb_in_range_and_deterministic_for_a_seed():
    a, b = natural_images(16, seed=4), natural_images(16, seed=4)
    assert a.shape == (16, 3, 32, 32) and a.dtype == torch.float32
    assert torch.equal(a, b) and not torch.equal(a, natural_images(16, seed=5))
    assert a.min() >= 0 and a.max() <= 1


def test_images_vary_in_colour_and_in_space():
    images = natural_images(64, seed=0)
    assert images.std(dim=(2, 3)).mean() > 0.05  # structure inside each image
    assert images.mean(dim=(2, 3)).std(dim=0).min() > 0.05  # colours differ between images


def test_focus_map_marks_sharp_regions_that_have_more_fine_detail():
    images, in_focus = natural_images(256, seed=1, return_focus=True)
    assert in_focus.shape == (256, 32, 32) and in_focus.dtype == torch.bool
    assert 0.1 < in_focus.float().mean() < 0.95
    # Fine detail: squared differences between horizontal neighbours, inside vs outside focus.
    detail = (images[..., 1:] - images[..., :-1]).pow(2).sum(dim=1)
    sharp, blurred = in_focus[..., 1:] & in_focus[..., :-1], ~in_focus[..., 1:] & ~in_focus[..., :-1]
    assert detail[sharp].mean() > 2 * detail[blurred].mean()


def test_blur_keeps_the_mean_and_removes_fine_stripes():
    stripes = torch.zeros(1, 1, 16, 16)
    stripes[..., ::2] = 1.0
    blurred = gaussian_blur(stripes, 2.0)
    torch.testing.assert_close(blurred.mean(), stripes.mean(), atol=1e-6, rtol=0)
    assert blurred.std() < 0.05 * stripes.std()


def test_generation_speed_is_measured():
    rates = images_per_second(n=200, repeats=1)
    assert rates["wall"] > 0 and rates["cpu"] > 0
