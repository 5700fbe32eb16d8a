"""course/chapters/motif_detection.py: the sliding detector is conv1d + max; tied gradients add up; un-zeroed gradients accumulate."""
import copy

import torch
import torch.nn.functional as F

from course.analysis.similarity import cosine_similarity
from course.chapters.motif_detection import (MotifDetector, MultiStartDetector, motif_score, sgd_steps, sliding_windows,
                                             tied_gradient_check)
from course.data.motif_sequences import default_motif, motif_sequences


def batch(seed, count=16):
    return motif_sequences(count, 30, default_motif(torch.float64), seed=seed, dtype=torch.float64)


def test_sliding_windows_are_the_unfolded_sequence():
    x = torch.arange(6.0)
    assert sliding_windows(x, 3).tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]
    assert sliding_windows(torch.zeros(2, 10), 4).shape == (2, 7, 4)


def test_motif_score_is_conv1d_then_max():
    data = batch(0)
    w = torch.randn(7, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    scores, positions = motif_score(data.x, w)
    reference = F.conv1d(data.x[:, None], w[None, None])[:, 0]
    torch.testing.assert_close(scores, reference.max(dim=1).values, rtol=1e-12, atol=1e-12)
    assert torch.equal(positions, reference.argmax(dim=1))


def test_motif_scores_best_exactly_where_it_was_planted():
    data = motif_sequences(40, 30, default_motif(torch.float64), noise=0.05, seed=2, dtype=torch.float64)
    _, positions = motif_score(data.x, default_motif(torch.float64))
    present = data.labels == 1
    assert torch.equal(positions[present], data.positions[present])


def test_data_is_balanced_seeded_and_the_patterns_have_equal_energy():
    a, b = batch(3, 40), batch(3, 40)
    assert torch.equal(a.x, b.x) and a.labels.sum() == 20
    clean = motif_sequences(40, 30, default_motif(torch.float64), noise=0.0, seed=3, dtype=torch.float64)
    torch.testing.assert_close(clean.x.norm(dim=1), torch.full((40,), default_motif().norm().item(), dtype=torch.float64))


def test_tied_gradient_is_the_sum_of_the_window_copies():
    torch.manual_seed(0)
    check = tied_gradient_check(MotifDetector(7).double(), batch(4).x, batch(4).labels)
    assert check.max_error < 1e-12
    assert check.per_window.shape == (30 - 7 + 1, 7)
    assert (check.per_window.abs().sum(dim=1) > 0).sum() > 1


def test_without_zero_grad_the_gradient_is_the_running_sum():
    torch.manual_seed(0)
    start = MotifDetector(7).double()
    batches = [(b.x, b.labels) for b in (batch(10 + i) for i in range(4))]
    right = sgd_steps(copy.deepcopy(start), batches, 0.1, zero_grad=True)
    wrong = sgd_steps(copy.deepcopy(start), batches, 0.1, zero_grad=False)
    torch.testing.assert_close(right[0].update, wrong[0].update)  # the first step cannot differ
    for step in right:
        torch.testing.assert_close(step.gradient, step.batch_gradient)
        torch.testing.assert_close(step.update, -0.1 * step.gradient)
    for i, step in enumerate(wrong):
        torch.testing.assert_close(step.gradient, sum(s.batch_gradient for s in wrong[: i + 1]))
    torch.testing.assert_close(wrong[1].update - right[1].update, -0.1 * right[0].batch_gradient)


def test_multi_start_keeps_the_start_with_the_lowest_loss():
    torch.manual_seed(0)
    bank = MultiStartDetector(7, 5).double()
    data = batch(5, 32)
    best = bank.best(data.x, data.labels)
    losses = bank.losses(data.x, data.labels)
    assert abs(F.cross_entropy(best(data.x), data.labels).item() - losses.min().item()) < 1e-12
    assert bank(data.x).shape == (32, 2, 5)


def test_cosine_similarity_ignores_scale_not_sign():
    w = default_motif()
    assert abs(cosine_similarity(3 * w, w) - 1) < 1e-12
    assert abs(cosine_similarity(-w, w) + 1) < 1e-12
