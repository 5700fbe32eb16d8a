"""Stimuli: the stated geometry (θ counter-clockwise from 'right', y up), grids and ranges."""
import pytest
import torch

from course.analysis.stimuli import centre_surround, colour_contrast, curves, gratings, high_low

ALL = (gratings, high_low, curves, colour_contrast, centre_surround)


@pytest.mark.parametrize("make", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("channels", (1, 3))
def test_every_stimulus_is_a_full_grid_of_images_in_unit_range(make, channels):
    images, params = make(size=16, channels=channels)
    n = len(images)
    assert images.shape == (n, channels, 16, 16) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert all(p.shape == (n,) for p in params.values())
    assert n == torch.tensor([len(p.unique()) for p in params.values()]).prod()  # every combination once


def test_grating_orientation_is_the_direction_it_varies_along():
    images, params = gratings(size=32, orientations_deg=(0, 90), frequencies=(0.125,), phases=(0.0,), channels=1)
    right, up = images[0, 0], images[1, 0]
    assert right.std(dim=0).max() < 1e-5  # θ=0: constant down each column (1e-5: float32 cos(90°) ≠ 0)
    assert up.std(dim=1).max() < 1e-5     # θ=90: constant along each row
    spectrum = torch.fft.rfft(right[0] - 0.5).abs()
    assert spectrum.argmax() == 4                                 # 0.125 cycles/pixel × 32 pixels


def test_high_low_puts_high_frequency_on_the_side_the_angle_points_to():
    images, _ = high_low(size=32, orientations_deg=(0, 90, 180), ratios=(5,), phases=(0.0,), channels=1)
    def roughness(patch):  # mean absolute difference of neighbours: large for high frequency
        return (patch[:, 1:] - patch[:, :-1]).abs().mean() + (patch[1:] - patch[:-1]).abs().mean()
    right, up, left = images[:, 0]
    assert roughness(right[:, 18:]) > 3 * roughness(right[:, :14])   # θ=0: high frequency on the right
    assert roughness(up[:14]) > 3 * roughness(up[18:])               # θ=90: on top (row 0 is the top)
    torch.testing.assert_close(left, torch.flip(right, dims=(-1,)))  # θ=180 mirrors θ=0
    torch.testing.assert_close(up, torch.rot90(right, 1, dims=(-2, -1)))  # rotating the image rotates θ


def test_high_low_ratio_one_has_the_same_frequency_everywhere():
    images, _ = high_low(size=32, orientations_deg=(0.0, 45.0), ratios=(1,), phases=(0.0,), channels=1)
    rotated_plaid = high_low(size=32, orientations_deg=(0.0,), ratios=(1,), phases=(0.0,), channels=1)[0]
    torch.testing.assert_close(images[0], rotated_plaid[0])
    left, right = images[0, 0, :, :16], images[0, 0, :, 16:]
    torch.testing.assert_close(left.std(), right.std(), atol=1e-3, rtol=0)


def test_curves_pass_through_the_centre_and_bulge_towards_the_angle():
    images, params = curves(size=32, radii=(8.0,), orientations_deg=(0.0, 90.0), channels=1)
    x = torch.arange(32) - 15.5
    for image, theta in zip(images[:, 0], params["orientation"]):
        assert image[15:17, 15:17].mean() > 0.5
        weight = image / image.sum()
        mean_x, mean_y = (weight.sum(0) * x).sum(), (weight.sum(1) * -x).sum()  # y is up: row 0 is +15.5
        along = mean_x * torch.cos(torch.deg2rad(theta)) + mean_y * torch.sin(torch.deg2rad(theta))
        assert along < -1  # the arms trail behind the apex, away from θ


def test_colour_contrast_and_centre_surround_paint_the_stated_colours():
    images, params = colour_contrast(size=16, orientations_deg=(0.0,), colour_pairs=(((1, 0, 0), (0, 1, 0)),))
    torch.testing.assert_close(images[0, :, 8, 15], torch.tensor([1.0, 0.0, 0.0]))   # right: first colour
    torch.testing.assert_close(images[0, :, 8, 0], torch.tensor([0.0, 1.0, 0.0]))
    grey, _ = colour_contrast(size=16, orientations_deg=(0.0,), colour_pairs=(((1, 0, 0), (0, 1, 0)),), channels=1)
    torch.testing.assert_close(grey[0, 0, 8, 15], torch.tensor(1 / 3))
    images, params = centre_surround(size=16, radii=(4.0,), centre_colours=((0, 0, 1),), surround_colours=((1, 1, 0),))
    torch.testing.assert_close(images[0, :, 8, 8], torch.tensor([0.0, 0.0, 1.0]))
    torch.testing.assert_close(images[0, :, 0, 0], torch.tensor([1.0, 1.0, 0.0]))
