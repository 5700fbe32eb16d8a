"""A second correct solution, written independently of the reference one: it must score full marks.

The affine maps use torch.addmm (bias + points · Wᵀ in one call), ReLU is clamp(min=0),
dead points are found by counting the layers at which a point's largest |coordinate| is
0, and relu_landing counts the coordinates that are <= 0 before the ReLU.
"""
import torch

BROKEN = None


def layer_steps(points, weights, biases):
    out = []
    current = points
    last = len(weights) - 1
    for index in range(len(weights)):
        affine = torch.addmm(biases[index], current, weights[index].t())
        out.append(affine)
        if index != last:
            current = affine.clamp(min=0)
            out.append(current)
    return out


def dead_fraction(points, weights, biases):
    hidden = layer_steps(points, weights, biases)[1::2]
    times_at_origin = torch.zeros(len(points), dtype=torch.long)
    for h in hidden:
        times_at_origin += (h.abs().amax(dim=1) == 0).long()
    return float((times_at_origin > 0).double().mean())


def relu_landing(points):
    return (points <= 0).long().sum(dim=1)
