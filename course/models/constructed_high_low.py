"""A hand-built network that contains high-low frequency detectors on purpose (lesson 09).

Before trusting the lesson's tools on a trained model we run them on a model whose answer we
wrote down ourselves. Every weight here is set by hand:

- `conv1`/`relu1` (5×5): oriented high-frequency filters (0°, 45°, 90°, 135°; two phases; both
  signs, so that after the ReLU the pair behaves like an absolute value), two smooth "blur
  minus grey" filters (both signs) that only see low-frequency content, and a red-minus-green
  colour filter (both signs) as a distractor.
- `conv2`/`relu2` (3×3): pools them into 8 channels: 4 high-frequency (HF) texture channels, one
  per orientation and phase-invariant; 2 low-frequency (LF) channels; 2 colour channels.
- `bottleneck`/`relu_b` (1×1): 3 channels. Channel 0 adds the HF channels, channel 1 the LF
  channels, channel 2 the colour channels. Rows 0 and 1 of this 1×1 weight are the *planted
  channel factors* `HF_FACTOR` and `LF_FACTOR` that one-sided NMF should find again.
- `conv3`/`relu3` (7×7): units 0..7 are high-low detectors at boundary orientations 0°, 45°,
  ..., 315°: HF excites them on the side their orientation points to and inhibits them on the
  other, LF does the opposite, so each unit's LF weights are its HF weights mirrored across the
  boundary. Unit 8 likes HF texture anywhere; unit 9 likes colour. Neither is a high-low unit.
- `head` (1×1): unit 0 sums the 8 high-low units with equal weights (it does not care which side
  is high, i.e. it ignores polarity); unit 1 uses only the members whose HF side points up
  (it cares about polarity) plus the two other conv3 units.

Orientation convention (the same as `course.analysis.stimuli.high_low`): a boundary at angle θ
has its high-frequency side in the direction (cos θ, sin θ) measured from the image's +x axis
(columns, to the right) towards the image's -y axis (up on the screen), counter-clockwise.

    model = ConstructedHighLow()
    model.planted.hf_factor        # (8,) non-negative, unit norm, over relu2's channels
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

GABOR_ORIENTATIONS_DEG = (0.0, 45.0, 90.0, 135.0)
GABOR_FREQUENCY = 0.35  # cycles per pixel: the "high" frequency of the high-low stimuli
GABOR_SIGMA = 1.3
BLUR_SIGMA = 1.2
BOUNDARY_ORIENTATIONS_DEG = tuple(45.0 * k for k in range(8))
FAMILY_SIZE = len(BOUNDARY_ORIENTATIONS_DEG)
HF_CHANNELS, LF_CHANNELS, COLOUR_CHANNELS = (0, 1, 2, 3), (4, 5), (6, 7)
# Gains that put the HF and LF bottleneck channels on a similar scale for full-contrast gratings
# at their preferred frequencies (measured once on this network; see the tests).
HF_GAIN, LF_GAIN = 1.0, 2.0
CONV3_SIZE, CONV3_EDGE_WIDTH, CONV3_WINDOW = 7, 1.0, 2.5
CONV3_BIAS = -0.1


def direction(theta_deg: float) -> tuple[float, float]:
    """The unit vector (dx along columns, dy along rows) of a boundary orientation θ (y up on screen)."""
    theta = math.radians(theta_deg)
    return math.cos(theta), -math.sin(theta)


def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel offsets from the kernel centre: x (columns), y (rows), each (size, size), float64."""
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    return r[None, :].expand(size, size), r[:, None].expand(size, size)


def _gaussian(size: int, sigma: float) -> torch.Tensor:
    x, y = _grid(size)
    return torch.exp(-(x**2 + y**2) / (2 * sigma**2))


def _gabor(theta_deg: float, phase: float) -> torch.Tensor:
    """A zero-mean 5×5 Gabor at GABOR_FREQUENCY whose stripes run across direction θ."""
    x, y = _grid(5)
    dx, dy = direction(theta_deg)
    envelope = _gaussian(5, GABOR_SIGMA)
    g = envelope * torch.cos(2 * math.pi * GABOR_FREQUENCY * (dx * x + dy * y) + phase)
    g = g - envelope * (g.sum() / envelope.sum())  # no response to flat brightness
    return g / g.abs().sum()


def _conv1() -> nn.Conv2d:
    conv = nn.Conv2d(3, 20, 5, padding=2)
    w = torch.zeros(20, 3, 5, 5, dtype=torch.float64)
    b = torch.zeros(20, dtype=torch.float64)
    for o, theta in enumerate(GABOR_ORIENTATIONS_DEG):
        for p, phase in enumerate((0.0, math.pi / 2)):
            g = _gabor(theta, phase) / 3  # the same on R, G, B: a brightness filter
            w[4 * o + 2 * p], w[4 * o + 2 * p + 1] = g, -g
    blur = _gaussian(5, BLUR_SIGMA)
    blur = blur / blur.sum() / 3
    w[16], b[16] = blur, -0.5  # brighter than grey, after blurring
    w[17], b[17] = -blur, 0.5  # darker than grey, after blurring
    colour = _gaussian(5, BLUR_SIGMA) / _gaussian(5, BLUR_SIGMA).sum()
    w[18, 0], w[18, 1] = colour, -colour  # red minus green
    w[19, 0], w[19, 1] = -colour, colour
    return _set(conv, w, b)


def _conv2() -> nn.Conv2d:
    conv = nn.Conv2d(20, 8, 3, padding=1)
    pool = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64)
    pool = pool[:, None] * pool[None, :] / 16
    w = torch.zeros(8, 20, 3, 3, dtype=torch.float64)
    for o in range(4):  # HF channel o: the 4 Gabor units of orientation o (2 phases × 2 signs)
        w[o, 4 * o:4 * o + 4] = pool
    w[4, 16] = w[5, 17] = pool
    w[6, 18] = w[7, 19] = pool
    return _set(conv, w, torch.zeros(8, dtype=torch.float64))


def _bottleneck(planted: "PlantedHighLow") -> nn.Conv2d:
    conv = nn.Conv2d(8, 3, 1)
    w = torch.zeros(3, 8, 1, 1, dtype=torch.float64)
    w[0, :, 0, 0] = HF_GAIN * planted.hf_factor.double()
    w[1, :, 0, 0] = LF_GAIN * planted.lf_factor.double()
    w[2, list(COLOUR_CHANNELS), 0, 0] = 1.0
    return _set(conv, w, torch.zeros(3, dtype=torch.float64))


def boundary_weights(theta_deg: float) -> torch.Tensor:
    """(7, 7) spatial weights: + on the side θ points to, − on the other, 0 along the boundary."""
    x, y = _grid(CONV3_SIZE)
    dx, dy = direction(theta_deg)
    return _gaussian(CONV3_SIZE, CONV3_WINDOW) * torch.tanh((dx * x + dy * y) / CONV3_EDGE_WIDTH)


def _conv3() -> nn.Conv2d:
    conv = nn.Conv2d(3, FAMILY_SIZE + 2, CONV3_SIZE, padding=CONV3_SIZE // 2)
    w = torch.zeros(FAMILY_SIZE + 2, 3, CONV3_SIZE, CONV3_SIZE, dtype=torch.float64)
    b = torch.full((FAMILY_SIZE + 2,), CONV3_BIAS, dtype=torch.float64)
    for k, theta in enumerate(BOUNDARY_ORIENTATIONS_DEG):
        side = boundary_weights(theta) / boundary_weights(theta).abs().sum()
        w[k, 0], w[k, 1] = side, -side  # HF on the θ side, LF on the opposite side
    window = _gaussian(CONV3_SIZE, CONV3_WINDOW)
    w[FAMILY_SIZE, 0] = window / window.sum()  # HF texture anywhere
    w[FAMILY_SIZE + 1, 2] = window / window.sum()  # colour anywhere
    return _set(conv, w, b)


def head_weights() -> torch.Tensor:
    """(2, 10): head 0 = all high-low units equally; head 1 = the 'HF side up' members + the rest."""
    w = torch.zeros(2, FAMILY_SIZE + 2, dtype=torch.float64)
    w[0, :FAMILY_SIZE] = 1.0
    for k, theta in enumerate(BOUNDARY_ORIENTATIONS_DEG):
        w[1, k] = 0.6 * max(0.0, round(math.sin(math.radians(theta)), 12))
    w[1, FAMILY_SIZE:] = 1.0
    return w


def _head() -> nn.Conv2d:
    conv = nn.Conv2d(FAMILY_SIZE + 2, 2, 1)
    return _set(conv, head_weights()[:, :, None, None], torch.zeros(2, dtype=torch.float64))


def _set(conv: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor) -> nn.Conv2d:
    with torch.no_grad():
        conv.weight.copy_(weight.float())
        conv.bias.copy_(bias.float())
    conv.requires_grad_(False)
    return conv


@dataclass(frozen=True)
class PlantedHighLow:
    """What was built into the network: the truth the lesson's analysis should recover."""

    hf_factor: torch.Tensor  # (8,) over relu2's channels, non-negative, unit norm
    lf_factor: torch.Tensor  # (8,)
    orientations_deg: tuple  # boundary orientation of conv3 units 0..7 (HF side direction)
    family: tuple  # the high-low units, "relu3:k"
    others: tuple  # conv3 units that are not high-low units
    head_using_family: str  # the head unit that uses the family most
    head_polarity_blind: str  # the head unit that ignores polarity


def planted_truth() -> PlantedHighLow:
    hf = torch.zeros(8)
    hf[list(HF_CHANNELS)] = 1.0
    lf = torch.zeros(8)
    lf[list(LF_CHANNELS)] = 1.0
    return PlantedHighLow(hf_factor=hf / hf.norm(), lf_factor=lf / lf.norm(),
                          orientations_deg=BOUNDARY_ORIENTATIONS_DEG,
                          family=tuple(f"relu3:{k}" for k in range(FAMILY_SIZE)),
                          others=(f"relu3:{FAMILY_SIZE}", f"relu3:{FAMILY_SIZE + 1}"),
                          head_using_family="head:0", head_polarity_blind="head:0")


class ConstructedHighLow(nn.Sequential):
    """conv1 (5×5) → conv2 (3×3) → 1×1 bottleneck → conv3 (7×7) → 1×1 head, all weights set by hand.

    Input (N, 3, S, S) in [0, 1]; output (N, 2, S, S). `model.planted` holds the planted truth.
    """

    def __init__(self):
        planted = planted_truth()
        super().__init__(OrderedDict([
            ("conv1", _conv1()), ("relu1", nn.ReLU()),
            ("conv2", _conv2()), ("relu2", nn.ReLU()),
            ("bottleneck", _bottleneck(planted)), ("relu_b", nn.ReLU()),
            ("conv3", _conv3()), ("relu3", nn.ReLU()),
            ("head", _head()),
        ]))
        self.planted = planted
        self.eval()
