"""Lesson 07: a p4 G-CNN against a plain CNN on rotated images, and hue as a group.

A small p4 G-CNN and a plain CNN of about the same size, and the tools to compare them on rotations.

    gcnn, cnn = P4GCNN(), PlainCNN()          # about 2.7k parameters each
    parameter_count(gcnn), parameter_count(cnn)   # course.models.parameter_count
    rotate_images(x, 90.0)                    # torch.rot90 at multiples of 90°, interpolation between

The G-CNN is lift → ReLU → 2×2 max pool → p4 group conv → ReLU → 2×2 max pool → p4 group conv
→ ReLU → max over the group axis (group pooling) → max over space → linear. Every layer commutes
with rot90 (kernels.p4_lift / p4_conv with odd k and padding k//2; max pooling over aligned 2×2
blocks of an even-sized square image; ReLU acts pixel by pixel), and group pooling followed by
spatial pooling forgets where and in which pose a pattern was found: so the logits of an image
and of its rot90 are the same, up to the order of float sums. The CNN has the same layout with
ordinary convolutions and more channels, and no such guarantee.

Hue as a group: cycling the RGB channels, a hue-equivariant lifting layer, and hue rotations.

The cyclic permutation R→G→B→R of the colour channels is an exact group of order 3 acting
on colour images: `cycle_hue(x, k)` moves channel c to channel c + k (mod 3), and
cycle_hue(cycle_hue(x, a), b) == cycle_hue(x, a + b), cycle_hue(x, 3) == x.

A hue-lifting layer sees each filter in its 3 cyclic colourings,

    out[:, o, h] = x ⋆ cycle_hue(w[o], h)          (N, 3, H, W) -> (N, Cout, 3, H', W')

and so cycling the input's colours by one step rolls the new hue axis by one:
hue_lift(cycle_hue(x, 1)) == hue_lift(x) rolled by +1 along axis 2.

The permutation is the 120° member of a continuous family: rotating colours about the grey
axis (1, 1, 1) (`course.analysis.hue_rotation`). A 180° hue rotation maps every colour whose channels
sum to zero (a pure colour contrast, no brightness) to its negative, which for a filter
with an odd spatial layout is the same as turning the filter by 180°.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

import kernels
from course.analysis.hue_rotation import rotate_hue
from course.data.shapes import Shapes
from course.runtime.cpp_extension import cpp_extension_built
from kernels import bench


# ---- a p4 G-CNN and rotations ------------------------------------------------------------------

def group_pool(f: torch.Tensor) -> torch.Tensor:
    """Max over the group axis: (N, C, G, H, W) -> (N, C, H, W). Invariant to permuting that axis.

    (Exercise 07's group_pool: the student copy pools with torch's max_pool3d instead.)
    """
    # BEGIN SOLUTION
    return f.amax(dim=2)
    # END SOLUTION
    # RELEASE: return F.max_pool3d(f, (f.shape[2], 1, 1)).squeeze(2)


def _init(shape, fan_in, generator=None):
    bound = 1.0 / math.sqrt(fan_in)
    return nn.Parameter((torch.rand(shape, generator=generator) * 2 - 1) * bound)


class P4Lift(nn.Module):
    """Lifting layer: (N, Cin, H, W) -> (N, Cout, 4, H, W), one filter seen in 4 rotations."""

    def __init__(self, cin: int, cout: int, k: int = 3):
        super().__init__()
        self.weight = _init((cout, cin, k, k), cin * k * k)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, x):
        return kernels.p4_lift(x, self.weight, self.bias, padding=self.weight.shape[-1] // 2)


class P4Conv(nn.Module):
    """p4 group convolution: (N, Cin, 4, H, W) -> (N, Cout, 4, H, W)."""

    def __init__(self, cin: int, cout: int, k: int = 3):
        super().__init__()
        self.weight = _init((cout, cin, 4, k, k), cin * 4 * k * k)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(self, f):
        return kernels.p4_conv(f, self.weight, self.bias, padding=self.weight.shape[-1] // 2)


def _pool_space(f):
    """2×2 max pooling of every map of a group feature map (N, C, G, H, W)."""
    n, c, g, h, w = f.shape
    return F.max_pool2d(f.reshape(n, c * g, h, w), 2).reshape(n, c, g, h // 2, w // 2)


class P4GCNN(nn.Module):
    """lift → pool → group conv → pool → group conv → group pool → max over space → linear."""

    def __init__(self, channels=(4, 6, 8), classes: int = 5, in_channels: int = 1):
        super().__init__()
        c1, c2, c3 = channels
        self.lift, self.conv2, self.conv3 = P4Lift(in_channels, c1), P4Conv(c1, c2), P4Conv(c2, c3)
        self.head = nn.Linear(c3, classes)

    def features(self, x):
        """The lifted feature map (N, c1, 4, H, W) after its ReLU: what the lesson's figure shows."""
        return torch.relu(self.lift(x))

    def forward(self, x):
        f = _pool_space(self.features(x))
        f = _pool_space(torch.relu(self.conv2(f)))
        f = torch.relu(self.conv3(f))
        return self.head(group_pool(f).amax(dim=(-2, -1)))


class PlainCNN(nn.Module):
    """The same layout with ordinary convolutions: conv → pool → conv → pool → conv → max over space → linear."""

    def __init__(self, channels=(8, 12, 16), classes: int = 5, in_channels: int = 1):
        super().__init__()
        c1, c2, c3 = channels
        self.conv1 = nn.Conv2d(in_channels, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.conv3 = nn.Conv2d(c2, c3, 3, padding=1)
        self.head = nn.Linear(c3, classes)

    def forward(self, x):
        f = F.max_pool2d(torch.relu(self.conv1(x)), 2)
        f = F.max_pool2d(torch.relu(self.conv2(f)), 2)
        f = torch.relu(self.conv3(f))
        return self.head(f.amax(dim=(-2, -1)))


def rotate_images(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Rotate images (N, C, H, W) counter-clockwise (as displayed) by `degrees`.

    Multiples of 90° use torch.rot90 (exact: pixels are only moved); other angles resample
    with bilinear interpolation (F.grid_sample), reflecting the image at its border so that
    the corners do not fill with an unnatural black.
    """
    quarter = degrees / 90.0
    if abs(quarter - round(quarter)) < 1e-9:
        return torch.rot90(x, int(round(quarter)) % 4, dims=(-2, -1))
    return rotate_by_interpolation(x, degrees)


def rotate_by_interpolation(x: torch.Tensor, degrees: float) -> torch.Tensor:
    """Bilinear rotation by any angle, in the same direction as torch.rot90 (counter-clockwise)."""
    theta = math.radians(degrees)
    cos, sin = math.cos(theta), math.sin(theta)
    # affine_grid maps output (x=col, y=row) in [-1, 1] to where it samples the input.
    # Counter-clockwise on screen (rows pointing down) means sampling at the clockwise-rotated point.
    matrix = torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]], dtype=x.dtype).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(matrix, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def randomly_rotated(x: torch.Tensor, seed: int, quarter_turns_only: bool) -> torch.Tensor:
    """Each image rotated by its own random angle: a multiple of 90°, or uniform in [0°, 360°)."""
    g = torch.Generator().manual_seed(seed)
    if quarter_turns_only:
        turns = torch.randint(0, 4, (len(x),), generator=g)
        return torch.stack([torch.rot90(image, int(t), dims=(-2, -1)) for image, t in zip(x, turns)])
    angles = torch.rand(len(x), generator=g) * 360
    return torch.cat([rotate_by_interpolation(image[None], float(a)) for image, a in zip(x, angles)])


@torch.no_grad()
def logits_under_rotation(model: nn.Module, image: torch.Tensor, angles) -> torch.Tensor:
    """The model's logits (len(angles), classes) for one image (C, H, W) rotated by each angle."""
    model.eval()
    return torch.cat([model(rotate_images(image[None], float(a))) for a in angles])


def upright_mask(angles: torch.Tensor, half_width_degrees: float = 22.5) -> torch.Tensor:
    """Which shapes were drawn within ±half_width of the reference pose, modulo 180°.

    The shapes data set draws every shape at a random angle. "Upright" training images are
    the ones whose angle is close to 0° or 180° (a line is then within that many degrees of
    horizontal): a quarter of the set for the default half-width.
    """
    degrees = torch.rad2deg(angles) % 180.0
    return (degrees < half_width_degrees) | (degrees >= 180.0 - half_width_degrees)


def upright_test_images(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels) of the upright shapes among n test shapes (about a quarter of them)."""
    test = Shapes("test", n=n, seed=seed)
    keep = upright_mask(test.angles)
    return test.images[keep], test.labels[keep]


def prediction_change_angle(logits: torch.Tensor, angles) -> float | None:
    """The first angle at which the predicted class differs from the one at angles[0] (None: never)."""
    guesses = logits.argmax(dim=1)
    changed = torch.nonzero(guesses != guesses[0]).flatten()
    return float(angles[changed[0]]) if len(changed) else None


def first_change_angles(guesses: torch.Tensor, angles) -> torch.Tensor:
    """(N,) for predictions (len(angles), N): the first angle where each image's class differs from
    its class at angles[0]; NaN for an image whose class never changes."""
    changed = guesses != guesses[0]
    first = torch.as_tensor(angles, dtype=torch.float32)[changed.float().argmax(dim=0)]
    return torch.where(changed.any(dim=0), first, torch.tensor(float("nan")))


@torch.no_grad()
def first_correct(models, images: torch.Tensor, labels: torch.Tensor, label: int) -> int:
    """Index of the first image of class `label` that every model classifies correctly (ValueError if none)."""
    for index in torch.nonzero(labels == label).flatten().tolist():
        if all(model.eval()(images[index:index + 1]).argmax().item() == label for model in models):
            return index
    raise ValueError(f"no image of class {label} is classified correctly by every model")


@torch.no_grad()
def predictions_by_angle(model: nn.Module, images: torch.Tensor, angles) -> torch.Tensor:
    """(len(angles), N) the class the model predicts for each image turned by each angle (rot90 at 90° multiples)."""
    model.eval()
    return torch.stack([model(rotate_images(images, float(a))).argmax(dim=1) for a in angles])


# ---- equivariance laws, checked numerically -----------------------------------------------------

def _max_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


def shift_and_turn_errors(seed: int) -> dict:
    """A 3×3 conv with circular padding: {"shift": |conv(shift x) - shift(conv x)|, "turn": the same for rot90}.

    The first is float32 rounding at most (convolution commutes with shifts); the second is not
    small, because a rot90 of the input does not rot90 the output of a fixed filter."""
    g = torch.Generator().manual_seed(seed)
    x, w = torch.randn(2, 3, 16, 16, generator=g), torch.randn(4, 3, 3, 3, generator=g)

    def conv(image):
        return F.conv2d(F.pad(image, (1, 1, 1, 1), mode="circular"), w)

    def shift(image):
        return torch.roll(image, shifts=(3, -5), dims=(-2, -1))

    def turn(image):
        return torch.rot90(image, 1, (-2, -1))

    return {"shift": _max_error(conv(shift(x)), shift(conv(x))), "turn": _max_error(conv(turn(x)), turn(conv(x)))}


def group_law_errors(group, x: torch.Tensor) -> dict:
    """How far the group's table is from what its elements do to an image x (exactly 0 when it is right).

    {"table": max over all pairs g, h of |g·(h·x) - (gh)·x|, "inverse": max over g of |g⁻¹·(g·x) - x|}."""
    act = group.act_on_image
    table = max(_max_error(act(act(x, h), g), act(x, int(group.table[g, h]))) for g in group.elements
                for h in group.elements)
    inverse = max(_max_error(act(act(x, g), group.inverse(g)), x) for g in group.elements)
    return {"table": table, "inverse": inverse}


def layer_equivariance_errors(group, lift, conv, x: torch.Tensor, generator: torch.Generator) -> dict:
    """{"lift": max over u of |lift(u·x) - u·lift(x)|, "conv": the same for a group conv}, random weights.

    The weights are scaled so outputs are about unit size, which makes 1e-5 a fair float32 bound."""
    wl = torch.randn(4, x.shape[1], 3, 3, generator=generator) / (9 * x.shape[1]) ** 0.5
    wg = torch.randn(5, 4, group.order, 3, 3, generator=generator) / (36 * group.order) ** 0.5
    f = lift(x, wl, padding=1)
    lifted = max(_max_error(lift(group.act_on_image(x, u), wl, padding=1), group.act_on_feature_map(f, u))
                 for u in group.elements)
    convolved = max(_max_error(conv(group.act_on_feature_map(f, u), wg, padding=1),
                               group.act_on_feature_map(conv(f, wg, padding=1), u)) for u in group.elements)
    return {"lift": lifted, "conv": convolved}


# ---- hue as a group ----------------------------------------------------------------------------

HUE_ORDER = 3


def cycle_hue(x: torch.Tensor, k: int) -> torch.Tensor:
    """Move colour channel c to channel c + k (mod 3); x has its 3 colour channels at axis -3."""
    return torch.roll(x, shifts=k % HUE_ORDER, dims=-3)


def hue_lift_filters(weight: torch.Tensor) -> torch.Tensor:
    """(Cout, 3, k, k) -> (Cout*3, 3, k, k): row o*3 + h is cycle_hue(weight[o], h)."""
    cout, cin, k, _ = weight.shape
    if cin != HUE_ORDER:
        raise ValueError(f"weight must have 3 colour channels, got shape {tuple(weight.shape)}")
    copies = torch.stack([cycle_hue(weight, h) for h in range(HUE_ORDER)], dim=1)
    return copies.reshape(cout * HUE_ORDER, cin, k, k)


def hue_lift(x: torch.Tensor, weight: torch.Tensor, padding: int = 0) -> torch.Tensor:
    """Hue-lifting layer: (N, 3, H, W), (Cout, 3, k, k) -> (N, Cout, 3, H', W')."""
    out = F.conv2d(x, hue_lift_filters(weight), padding=padding)
    return out.reshape(out.shape[0], weight.shape[0], HUE_ORDER, *out.shape[-2:])


def hue_group_errors(x: torch.Tensor) -> dict:
    """Largest deviations from the group laws of cycle_hue on x (all exactly 0: channels are only moved)."""
    closure = max((cycle_hue(cycle_hue(x, a), b) - cycle_hue(x, a + b)).abs().max().item()
                  for a in range(3) for b in range(3))
    return {"order_3": (cycle_hue(x, 3) - x).abs().max().item(),
            "closure": closure,
            "inverse": (cycle_hue(cycle_hue(x, 1), 2) - x).abs().max().item(),
            "one_step_moves": (cycle_hue(x, 1) - x).abs().max().item()}


def hue_lift_equivariance_error(x: torch.Tensor, weight: torch.Tensor, padding: int = 1) -> float:
    """max over k of |hue_lift(cycle_hue(x, k)) - roll(hue_lift(x), k, hue axis)|."""
    out = hue_lift(x, weight, padding)
    return max((hue_lift(cycle_hue(x, k), weight, padding) - torch.roll(out, k, dims=2)).abs().max().item()
               for k in range(HUE_ORDER))


def colour_contrast_filter(colour, size: int = 5, dtype=torch.float64) -> torch.Tensor:
    """A (3, size, size) filter: `colour` on the left half, minus `colour` on the right, zero in the middle column."""
    colour = torch.as_tensor(colour, dtype=dtype)
    side = torch.zeros(size, size, dtype=dtype)
    side[:, : size // 2], side[:, size - size // 2:] = 1.0, -1.0
    return colour[:, None, None] * side


def hue_half_turn_vs_spatial_half_turn(filter_: torch.Tensor) -> float:
    """max |rotate_hue(w, 180°) - rot90(w, 2)|: zero for an odd colour-contrast filter with no brightness part."""
    return (rotate_hue(filter_, 180.0) - torch.rot90(filter_, 2, dims=(-2, -1))).abs().max().item()


# ---- fused group kernels: agreement and timing -----------------------------------------------

def group_agreement(backend: str, op: str = "p4m_conv") -> float:
    """Largest relative error of a fused group backend against the expanded-filter reference (float64).

    Output and the gradients of input, weight and bias, on one small seeded case with padding.
    """
    generator = torch.Generator().manual_seed(0)
    order, lifting = (8 if op.startswith("p4m") else 4), op.endswith("_lift")
    x = torch.randn(2, 2, *(() if lifting else (order,)), 7, 7, generator=generator, dtype=torch.float64)
    w = torch.randn(3, 2, *(() if lifting else (order,)), 3, 3, generator=generator, dtype=torch.float64)
    b = torch.randn(3, generator=generator, dtype=torch.float64)
    grad = torch.randn(2, 3, order, 7, 7, generator=generator, dtype=torch.float64)
    results = []
    for name in ("torch", backend):
        inputs = [t.clone().requires_grad_() for t in (x, w, b)]
        out = getattr(kernels, op)(*inputs, padding=1, backend=name)
        results.append([out.detach(), *torch.autograd.grad(out, inputs, grad)])
    return max(((a - r).abs().max() / r.abs().max()).item() for r, a in zip(*results))


def group_measure(allow_build: bool, reps: int, threads: int = 1) -> tuple[list, str]:
    """kernels.bench group rows (fused cpp vs reference, one small shape) and a note when cpp is not timed."""
    if not allow_build and not cpp_extension_built():
        return [], "fused cpp not timed: its extension is not built yet (it builds on first use, about a minute)"
    return bench.group_benchmark(reps=reps, threads=threads, backends=["cpp"]), ""
