"""The banding score on weights whose banding is known before we look: stripes, turned stripes, noise."""
import pytest
import torch

from course.analysis.banding import band_fractions, banding_score, random_baseline, spatial_part, synthetic_weights


@pytest.mark.parametrize("k", [3, 5])
def test_horizontal_stripes_score_one_and_vertical_stripes_minus_one(k):
    horizontal = banding_score(synthetic_weights("horizontal", k=k))
    vertical = banding_score(synthetic_weights("vertical", k=k))
    # Exact up to float64 rounding of a few sums.
    assert horizontal["horizontal"] == pytest.approx(1.0, abs=1e-9)
    assert horizontal["vertical"] == pytest.approx(0.0, abs=1e-9)
    assert horizontal["banding"] == pytest.approx(1.0, abs=1e-9)
    assert vertical["banding"] == pytest.approx(-1.0, abs=1e-9)


@pytest.mark.parametrize("k", [3, 5])
def test_random_weights_score_the_random_baseline_in_both_directions(k):
    score = banding_score(synthetic_weights("random", c_out=400, k=k, seed=1))
    # 400 units: the mean of the fractions is within a few hundredths of 1 / (k + 1).
    assert score["horizontal"] == pytest.approx(random_baseline(k), abs=0.02)
    assert score["vertical"] == pytest.approx(random_baseline(k), abs=0.02)
    assert abs(score["banding"]) < 0.03


def test_turning_the_kernels_by_90_degrees_swaps_the_two_fractions():
    w = synthetic_weights("random", c_out=8, k=5, seed=2) + synthetic_weights("horizontal", c_out=8, k=5, seed=3)
    h, v = band_fractions(w)
    h_turned, v_turned = band_fractions(torch.rot90(w, 1, dims=(-2, -1)))
    torch.testing.assert_close(h_turned, v, rtol=0, atol=1e-12)  # float64 inside: rounding only
    torch.testing.assert_close(v_turned, h, rtol=0, atol=1e-12)


def test_banding_fades_as_noise_is_added():
    scores = [banding_score(synthetic_weights("horizontal", c_out=64, noise=noise, seed=4))["banding"]
              for noise in (0.0, 0.3, 1.0, 3.0)]
    assert scores == sorted(scores, reverse=True) and scores[-1] < 0.1


def test_the_score_ignores_the_kernel_mean_and_the_scale():
    w = synthetic_weights("random", c_out=6, seed=5)
    h, v = band_fractions(w)
    h2, v2 = band_fractions(3.0 * w + 7.0)
    # 3w + 7 is rounded to float32 before the score sees it: agreement to float32 precision.
    torch.testing.assert_close(h2, h, rtol=0, atol=1e-6)
    torch.testing.assert_close(v2, v, rtol=0, atol=1e-6)
    constant = torch.ones(2, 3, 3, 3)
    assert band_fractions(constant)[0].tolist() == [0.0, 0.0]


def test_fractions_are_in_range_and_never_sum_above_one():
    h, v = band_fractions(synthetic_weights("random", c_out=50, k=3, seed=6))
    assert (h >= 0).all() and (v >= 0).all() and (h + v <= 1 + 1e-12).all()


def test_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="C_out, C_in, kh, kw"):
        band_fractions(torch.zeros(3, 3, 3))
    with pytest.raises(ValueError, match="kind must be"):
        synthetic_weights("diagonal")


def test_spatial_part_removes_each_kernels_mean_and_keeps_the_rest():
    w = synthetic_weights("random", c_out=4, c_in=3, k=3, seed=7)
    part = spatial_part(w + 5.0)
    torch.testing.assert_close(part.mean(dim=(-2, -1)), torch.zeros(4, 3), rtol=0, atol=1e-5)  # float32 sums
    torch.testing.assert_close(part, w - w.mean(dim=(-2, -1), keepdim=True), rtol=0, atol=1e-5)


def test_a_group_of_layers_scores_the_mean_over_all_their_units():
    a, b = synthetic_weights("horizontal", c_out=8, seed=8), synthetic_weights("vertical", c_out=24, c_in=5, seed=9)
    group = banding_score([a, b])
    assert group["banding"] == pytest.approx((8 * 1.0 + 24 * -1.0) / 32, abs=1e-9)
    assert banding_score([a]) == banding_score(a)
