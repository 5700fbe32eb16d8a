"""Two classes of points in the plane that no straight line separates: a seeded "chevron".

Class 1 lies above the V-shaped curve x2 = 2|x1| - 1, class 0 below it, in the square
[-1.5, 1.5]². A gap of `margin` (measured vertically) is kept empty around the curve, so
a classifier can reach 100% and the figures show clean classes. One fold of the plane
along x1 = 0 turns the V into a straight line, so even a net of 2-neuron layers can
represent the answer; whether training finds it is the question of lesson 01.
"""
import torch
from torch.utils.data import Dataset

BOX = 1.5  # points lie in [-BOX, BOX]²
BOUNDARY_TEXT = "x2 = 2|x1| − 1"


def chevron_boundary(x1: torch.Tensor) -> torch.Tensor:
    """Height of the V-shaped class boundary above x1: x2 = 2|x1| - 1."""
    return 2 * x1.abs() - 1


def chevron(n: int, seed: int, margin: float = 0.2) -> tuple[torch.Tensor, torch.Tensor]:
    """n points (n, 2) float32, uniform in the square but at least `margin` above or below the V,
    and their labels (n,) int64: 1 above the V, 0 below. Deterministic for a seed."""
    generator = torch.Generator().manual_seed(seed)
    kept = torch.empty(0, 2)
    while len(kept) < n:  # rejection sampling: draw, drop the points inside the gap, repeat
        draw = (2 * torch.rand(2 * n, 2, generator=generator) - 1) * BOX
        gap = (draw[:, 1] - chevron_boundary(draw[:, 0])).abs()
        kept = torch.cat([kept, draw[gap >= margin]])
    points = kept[:n]
    labels = (points[:, 1] > chevron_boundary(points[:, 0])).long()
    return points, labels


class PointSet(Dataset):
    """(points, labels) as a Dataset whose items are prepared once.

    `course.runtime.train.fit` fetches a batch item by item; slicing a tensor for every item costs
    more than a whole training step of these tiny nets, so the items are sliced up front.
    """

    def __init__(self, points: torch.Tensor, labels: torch.Tensor):
        self.points, self.labels = points, labels
        self.items = list(zip(points, labels))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]
