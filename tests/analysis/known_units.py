"""Models whose units are known filters: the ground truth the analysis tools are tested on."""
import math
from collections import OrderedDict

import torch
from torch import nn


def gabor(size=9, theta_deg=30.0, frequency=0.15, sigma=2.5, odd=False):
    """An oriented Gabor filter (size, size), varying along θ (degrees, counter-clockwise, y up)."""
    offsets = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    y, x = torch.meshgrid(-offsets, offsets, indexing="ij")
    theta = math.radians(theta_deg)
    u = x * math.cos(theta) + y * math.sin(theta)
    wave = torch.sin if odd else torch.cos
    return torch.exp(-(x**2 + y**2) / (2 * sigma**2)) * wave(2 * math.pi * frequency * u)


def filter_unit_model(kernel, channels=1):
    """conv (channels -> 1, the kernel on every channel, / channels) -> ReLU: unit 'relu:0'."""
    k = kernel.shape[-1]
    conv = nn.Conv2d(channels, 1, k, padding=k // 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(kernel.expand(1, channels, k, k) / channels)
    return nn.Sequential(OrderedDict(conv=conv, relu=nn.ReLU()))
