"""One small training loop for every lesson: seeded, CPU by default, a quiet progress bar.

    history = fit(model, (x_train, y_train), (x_test, y_test), epochs=20, lr=1e-2, seed=0)
    history.test_accuracy[-1]

Data is either a pair of tensors (inputs, targets) or a torch Dataset. The loss is cross
entropy for integer class targets and mean squared error for float targets, unless a
loss function is given. Evaluation runs after every epoch; the history keeps the curves.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset
from tqdm.auto import tqdm

from course.runtime.threads import cpu_threads


@dataclass
class History:
    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)

    def last(self) -> dict:
        """The final value of every curve that was recorded."""
        return {name: values[-1] for name, values in vars(self).items() if values}


def default_device() -> torch.device:
    """CPU unless a GPU is present and COURSE_DEVICE does not say otherwise."""
    wanted = os.environ.get("COURSE_DEVICE")
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def as_dataset(data) -> Dataset:
    if isinstance(data, Dataset):
        return data
    inputs, targets = data
    return TensorDataset(inputs, targets)


def default_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if targets.dtype in (torch.int64, torch.int32, torch.uint8):
        return F.cross_entropy(outputs, targets.long())
    return F.mse_loss(outputs, targets)


def accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float | None:
    """Fraction of correct class predictions (None for regression targets)."""
    if targets.dtype not in (torch.int64, torch.int32, torch.uint8):
        return None
    return (outputs.argmax(dim=1) == targets).float().mean().item()


@torch.no_grad()
def evaluate(model, data, loss_fn=default_loss, batch_size: int = 512, device=None) -> tuple[float, float | None]:
    """Mean loss and accuracy of a model over a data set, in evaluation mode."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_loss, correct, count, is_classification = 0.0, 0.0, 0, True
    for inputs, targets in DataLoader(as_dataset(data), batch_size=batch_size):
        inputs, targets = inputs.to(device), targets.to(device)
        outputs = model(inputs)
        total_loss += loss_fn(outputs, targets).item() * len(targets)
        batch_accuracy = accuracy(outputs, targets)
        is_classification = batch_accuracy is not None
        correct += (batch_accuracy or 0.0) * len(targets)
        count += len(targets)
    model.train(was_training)
    return total_loss / count, (correct / count if is_classification else None)


def fit(model, train, test=None, *, epochs: int, lr: float = 1e-2, batch_size: int = 64,
        optimizer: str = "adam", weight_decay: float = 0.0, loss_fn=default_loss, seed: int = 0,
        device=None, progress: bool = True, description: str = "training", threads: int | None = None) -> History:
    """Train `model` in place and return its History (losses and accuracies per epoch).

    Deterministic for a seed on the CPU: the seed fixes the shuffling (the model's initial
    weights are the caller's business: seed before building it). The progress bar shows
    only on a terminal, so logs and CI stay clean.

    threads: if given, torch uses that many CPU threads while this runs (restored after).
    threads=1 makes CPU results independent of the machine's core count (sums are added in
    one order), and for small models on a busy machine it is often faster, not slower.
    """
    with cpu_threads(threads):
        return _fit(model, train, test, epochs, lr, batch_size, optimizer, weight_decay, loss_fn, seed, device,
                    progress, description)


def _fit(model, train, test, epochs, lr, batch_size, optimizer, weight_decay, loss_fn, seed, device, progress,
         description) -> History:
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    generator = torch.Generator().manual_seed(seed)
    loader = DataLoader(as_dataset(train), batch_size=batch_size, shuffle=True, generator=generator)
    optimizers = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
    if optimizer not in optimizers:
        raise ValueError(f"optimizer must be one of {sorted(optimizers)}, got {optimizer!r}")
    step = optimizers[optimizer](model.parameters(), lr=lr, weight_decay=weight_decay)
    history = History()
    bar = tqdm(range(epochs), desc=description, unit="epoch", disable=None if progress else True,
               leave=False, file=sys.stderr)
    for _ in bar:
        model.train()
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            step.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            step.step()
        train_loss, train_accuracy = evaluate(model, train, loss_fn, device=device)
        history.train_loss.append(train_loss)
        if train_accuracy is not None:
            history.train_accuracy.append(train_accuracy)
        if test is not None:
            test_loss, test_accuracy = evaluate(model, test, loss_fn, device=device)
            history.test_loss.append(test_loss)
            if test_accuracy is not None:
                history.test_accuracy.append(test_accuracy)
        bar.set_postfix({k: f"{v:.3f}" for k, v in history.last().items()})
    return history
