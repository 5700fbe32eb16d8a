"""The shared training loop: it learns, it is deterministic for a seed, it records its curves."""
import torch
from torch import nn

from course.runtime.train import evaluate, fit


def blobs(seed, n=200):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    points = torch.randn(n, 2, generator=g) * 0.5 + (labels[:, None] * 2.0 - 1.0)
    return points, labels


def small_model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))


def test_fit_learns_separable_blobs_and_records_every_epoch():
    model = small_model(0)
    history = fit(model, blobs(0), blobs(1), epochs=5, lr=0.05, seed=0, progress=False)
    assert len(history.train_loss) == len(history.test_accuracy) == 5
    assert history.test_accuracy[-1] >= 0.95
    assert history.train_loss[-1] < history.train_loss[0]


def test_fit_is_deterministic_for_a_seed():
    runs = [fit(small_model(3), blobs(0), epochs=2, seed=7, progress=False).train_loss for _ in range(2)]
    assert runs[0] == runs[1]


def test_regression_targets_use_mean_squared_error_and_no_accuracy():
    x = torch.linspace(-1, 1, 64)[:, None]
    model = nn.Linear(1, 1)
    history = fit(model, (x, 3 * x), epochs=100, lr=0.5, optimizer="sgd", seed=0, progress=False)
    assert history.train_accuracy == [] and history.train_loss[-1] < 1e-3
    loss, acc = evaluate(model, (x, 3 * x))
    assert acc is None and loss < 1e-3


def test_threads_are_set_while_training_and_restored_afterwards():
    before, seen = torch.get_num_threads(), []

    def counting_loss(outputs, targets):
        seen.append(torch.get_num_threads())
        return torch.nn.functional.cross_entropy(outputs, targets)

    fit(small_model(0), blobs(0), epochs=1, seed=0, progress=False, threads=1, loss_fn=counting_loss)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before


def test_one_thread_gives_the_same_training_as_a_second_one_thread_run():
    runs = [fit(small_model(3), blobs(0), epochs=2, seed=7, progress=False, threads=1).train_loss for _ in range(2)]
    assert runs[0] == runs[1]
