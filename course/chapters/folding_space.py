"""A net of 2-neuron layers, read as a chain of affine maps and ReLU folds of the plane.

The net of lesson 01 has 2 inputs, hidden layers of 2 ReLU neurons and 2 outputs, so
every intermediate result is again a point in the plane and can be drawn. Each layer
first applies an affine map (rotate, stretch, shear, shift: straight lines stay straight)
and then ReLU, which keeps the positive quadrant as it is and flattens everything else
onto its edges: a point with one negative coordinate lands on an axis, a point with two
lands on the origin.

Convention, the one of `torch.nn.Linear`: a layer's weight W has shape (out, in) and its
bias b shape (out,); a batch of points is an (N, in) tensor with one point per row, so the
affine map is `points @ W.T + b`, which is W x + b for each point x.

A point that a hidden ReLU sends to the origin is *dead*: every other point sent there
shares its position from then on, so no later layer can tell them apart, and no gradient
flows back through that layer for them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from course.data.two_class_plane import PointSet
from course.runtime.train import fit


def plane_net(width: int, hidden_layers: int = 4) -> nn.Sequential:
    """2 inputs -> `hidden_layers` x (Linear to `width`, ReLU) -> Linear to 2 class scores.

    Initialised by PyTorch's default rule: seed torch before calling for a given net.
    """
    layers, size = [], 2
    for _ in range(hidden_layers):
        layers += [nn.Linear(size, width), nn.ReLU()]
        size = width
    layers.append(nn.Linear(size, 2))
    return nn.Sequential(*layers)


def layer_parameters(net: nn.Sequential) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The weights (out, in) and biases (out,) of the net's Linear layers, detached copies."""
    linears = [layer for layer in net if isinstance(layer, nn.Linear)]
    return [m.weight.detach().clone() for m in linears], [m.bias.detach().clone() for m in linears]


def affine_relu_steps(points: torch.Tensor, weights, biases) -> list[torch.Tensor]:
    """Every intermediate point set: [affine 1, ReLU 1, ..., affine L-1, ReLU L-1, affine L].

    The last layer is the output layer: an affine map with no ReLU after it. (Exercise 01's
    layer_steps: in the student copy this runs yours once written, torch.nn.functional's until then.)
    """
    # BEGIN SOLUTION
    steps, current = [], points
    for layer, (weight, bias) in enumerate(zip(weights, biases), start=1):
        current = current @ weight.T + bias
        steps.append(current)
        if layer < len(weights):
            current = torch.relu(current)
            steps.append(current)
    return steps
    # END SOLUTION
    # RELEASE: from course.exercises.ex01_folding_space import layer_steps as yours
    # RELEASE: from course.runtime.yours import yours_or_torch
    # RELEASE: return yours_or_torch(yours, _torch_steps, points, weights, biases)


# BEGIN SOLUTION
# END SOLUTION
# RELEASE: def _torch_steps(points, weights, biases):
# RELEASE:     """affine_relu_steps by torch.nn.functional's linear and relu (the student copy's stand-in)."""
# RELEASE:     linear, relu = torch.nn.functional.linear, torch.nn.functional.relu
# RELEASE:     affine = [linear(points, weights[0], biases[0])]
# RELEASE:     for weight, bias in zip(weights[1:], biases[1:]):
# RELEASE:         affine.append(linear(relu(affine[-1]), weight, bias))
# RELEASE:     return [step for a in affine[:-1] for step in (a, relu(a))] + affine[-1:]


def step_names(n_layers: int) -> list[str]:
    """Panel titles for affine_relu_steps: 'affine 1', 'ReLU 1', ..., 'affine L (output)'."""
    names = []
    for layer in range(1, n_layers):
        names += [f"affine {layer}", f"ReLU {layer}"]
    return names + [f"affine {n_layers} (output)"]


def dead_mask(points: torch.Tensor, weights, biases) -> torch.Tensor:
    """(N,) bool: True where some hidden ReLU sends the point exactly to the origin."""
    relu_outputs = affine_relu_steps(points, weights, biases)[1::2]
    return torch.stack([(h == 0).all(dim=1) for h in relu_outputs]).any(dim=0)


def dead_fraction(net: nn.Sequential, points: torch.Tensor) -> float:
    """Fraction of the points that some hidden ReLU of `net` sends to the origin."""
    return dead_mask(points, *layer_parameters(net)).float().mean().item()


def forced_error(points: torch.Tensor, labels: torch.Tensor, weights, biases) -> float:
    """A lower bound on the error rate that no later layer can undo, from points merged at the origin.

    At each hidden ReLU, the points sent to the origin share one position, so the net gives
    them all one answer: the ones of the smaller class among them are misclassified whatever
    the later layers do. Returns the largest such count over the hidden layers, over N.
    """
    worst = 0
    for h in affine_relu_steps(points, weights, biases)[1::2]:
        at_origin = labels[(h == 0).all(dim=1)]
        ones = int(at_origin.sum())
        worst = max(worst, min(ones, len(at_origin) - ones))
    return worst / len(labels)


def flatness(points: torch.Tensor) -> float:
    """How thin a 2-D point cloud is: its smaller spread over its larger one (the singular values
    of the centred points). 1 for a round cloud, 0 for points on one line (or one point)."""
    spreads = torch.linalg.svdvals((points - points.mean(dim=0)).double())
    return (spreads[-1] / spreads[0]).item() if spreads[0] > 0 else 0.0


def relu_landing(points: torch.Tensor) -> torch.Tensor:
    """(N,) long: where ReLU puts each 2-D point: 0 inside the open positive quadrant,
    1 on an axis (exactly one coordinate zero), 2 on the origin."""
    # BEGIN SOLUTION
    return (torch.relu(points) == 0).sum(dim=1)
    # END SOLUTION
    # RELEASE: from course.exercises.ex01_folding_space import relu_landing as yours
    # RELEASE: from course.runtime.yours import yours_or_torch
    # RELEASE: return yours_or_torch(yours, lambda p: torch.count_nonzero(torch.nn.functional.relu(p) == 0, dim=1), points)


def quadrant(points: torch.Tensor) -> torch.Tensor:
    """(N,) long: the quadrant of each 2-D point, 0..3 for I (+,+), II (-,+), III (-,-), IV (+,-).

    A coordinate that is exactly zero counts as positive.
    """
    negative_x, negative_y = points[:, 0] < 0, points[:, 1] < 0
    return torch.where(negative_y, torch.where(negative_x, 2, 3), torch.where(negative_x, 1, 0))


def best_line_accuracy(points: torch.Tensor, labels: torch.Tensor, directions: int = 720) -> float:
    """The best accuracy any straight line reaches on 2-D points (class 1 on one side).

    For each of `directions` normal directions the points are projected onto the normal
    and every threshold between consecutive projections is tried, with class 1 on either
    side: an exhaustive search up to the angular resolution.
    """
    angles = torch.arange(directions, dtype=torch.float64) * (math.pi / directions)
    normals = torch.stack([angles.cos(), angles.sin()])  # (2, D)
    projections = points.double() @ normals  # (N, D)
    order = projections.argsort(dim=0)
    sorted_labels = labels[order].double()  # (N, D): labels in projection order
    n = len(labels)
    # Threshold after the first k points: class 0 below, class 1 above (k = 0..N).
    ones_below = torch.cat([torch.zeros(1, directions, dtype=torch.float64), sorted_labels.cumsum(dim=0)])
    k = torch.arange(n + 1, dtype=torch.float64)[:, None]
    correct = (k - ones_below) + (sorted_labels.sum(dim=0) - ones_below)
    best = torch.maximum(correct, n - correct).max()  # either side may hold class 1
    return (best / n).item()


@dataclass
class TrainingRuns:
    """One width trained from several seeds: the curves and numbers of the training question."""

    width: int
    seeds: list
    target: float
    loss_curves: list = field(default_factory=list)  # one list of per-epoch losses per seed
    final_accuracy: list = field(default_factory=list)
    dead_at_init: list = field(default_factory=list)
    dead_after: list = field(default_factory=list)
    forced_error: list = field(default_factory=list)
    nets: list = field(default_factory=list)

    @property
    def reached(self) -> list[bool]:
        return [accuracy >= self.target for accuracy in self.final_accuracy]

    @property
    def success_rate(self) -> float:
        return sum(self.reached) / len(self.reached)

    def mean(self, name: str) -> float:
        """The mean over seeds of one of the per-seed lists, e.g. mean("dead_at_init")."""
        values = getattr(self, name)
        return sum(values) / len(values)


def train_plane_net(width: int, points, labels, seed: int, *, epochs: int, lr: float, batch_size: int,
                    hidden_layers: int = 4):
    """A plane_net seeded with `seed`, trained with Adam by course.runtime.train.fit.

    Returns (net, history, dead fraction at initialisation).
    """
    torch.manual_seed(seed)
    net = plane_net(width, hidden_layers)
    dead_at_init = dead_fraction(net, points)
    history = fit(net, PointSet(points, labels), epochs=epochs, lr=lr, batch_size=batch_size, seed=seed,
                  device="cpu", description=f"width {width}, seed {seed}")
    return net, history, dead_at_init


def training_experiment(points, labels, widths, seeds, target: float, **training) -> dict:
    """Train a plane_net of every width from every seed: {width: TrainingRuns}.

    `training`: epochs, lr, batch_size (and hidden_layers) for train_plane_net, the same for every run.
    """
    runs = {}
    for width in widths:
        runs[width] = TrainingRuns(width, list(seeds), target)
        for seed in seeds:
            net, history, dead_at_init = train_plane_net(width, points, labels, seed, **training)
            runs[width].loss_curves.append(history.train_loss)
            runs[width].final_accuracy.append(history.train_accuracy[-1])
            runs[width].dead_at_init.append(dead_at_init)
            runs[width].dead_after.append(dead_fraction(net, points))
            runs[width].forced_error.append(forced_error(points, labels, *layer_parameters(net)))
            runs[width].nets.append(net)
    return runs


def a_net_that_reached(runs: TrainingRuns, points, labels, extra_seeds: int = 20, **training):
    """(net, seed, accuracy): the first run of `runs` that reached its target; if none did,
    train further seeds (after the last one) until one does, or return the most accurate."""
    for net, seed, accuracy, reached in zip(runs.nets, runs.seeds, runs.final_accuracy, runs.reached):
        if reached:
            return net, seed, accuracy
    best = max(zip(runs.nets, runs.seeds, runs.final_accuracy), key=lambda run: run[2])
    for seed in range(max(runs.seeds) + 1, max(runs.seeds) + 1 + extra_seeds):
        net, history, _ = train_plane_net(runs.width, points, labels, seed, **training)
        if history.train_accuracy[-1] > best[2]:
            best = (net, seed, history.train_accuracy[-1])
        if best[2] >= runs.target:
            break
    return best


def grid_lines(box: float, lines: int = 13, samples: int = 200) -> torch.Tensor:
    """(2·lines, samples, 2): `lines` vertical then `lines` horizontal lines across [-box, box]²,
    each sampled at `samples` points, so that a map of the plane can be drawn by mapping them."""
    positions = torch.linspace(-box, box, lines)
    along = torch.linspace(-box, box, samples)
    vertical = torch.stack([positions[:, None].expand(-1, samples), along.expand(lines, -1)], dim=-1)
    horizontal = vertical.flip(-1)
    return torch.cat([vertical, horizontal])


@torch.no_grad()
def predicted_classes(net: nn.Sequential, box: float, resolution: int = 200) -> torch.Tensor:
    """(resolution, resolution) long: the class the net picks at each pixel of [-box, box]²,
    rows going up in x2, columns going right in x1 (draw with origin='lower')."""
    axis = torch.linspace(-box, box, resolution)
    x2, x1 = torch.meshgrid(axis, axis, indexing="ij")
    return net(torch.stack([x1, x2], dim=-1).reshape(-1, 2)).argmax(dim=1).reshape(resolution, resolution)
