"""Feature visualisation: synthesise the image a unit responds to most.

Start from a faint random image and follow the gradient of the unit's response with
respect to the pixels, uphill. Done naively this produces high-frequency noise: a few
pixels in a checkerboard excite the unit strongly and mean nothing. Three habits make the
result readable, and all three are here:

1. Fourier parameterisation with 1/f scaling. The optimiser's variables are the image's
   Fourier coefficients, each multiplied by 1/frequency before the inverse FFT. A gradient
   step then moves low frequencies as easily as high ones, as in natural images, where
   the amplitude falls like 1/f, instead of favouring single-pixel changes.
2. Decorrelated colour (3 channels). The variables live in a colour basis where natural
   pixels' channels are uncorrelated (the square root of the data's colour covariance,
   measured once on `course.data.natural_images`); a step there changes colours the way
   real colours co-vary.
3. Robustness transforms. Each step sees the image padded, jittered, scaled and rotated at
   random: a pattern that excites the unit only at one exact pixel offset does not survive
   averaging over those, a real feature does.

The image is sigmoid(x), so pixels stay in [0, 1] like the data. With batch > 1, a
`diversity` weight > 0 pushes the images of the batch apart (it penalises the cosine
similarity of their Gram matrices in the unit's layer), to show several different things
that excite the same unit. Nothing is resized: the image has the size and channels the
model takes, which suits 32-pixel, one-channel course models.

    images, history = visualize(model, "relu2:5", steps=256, seed=0)   # (1, 3, 32, 32), [objective per step]
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from course.analysis.units import layer_outputs, parse_unit


def visualize(model, unit: str, *, size: int = 32, channels: int = 3, steps: int = 256, lr: float = 0.05,
              seed: int = 0, batch: int = 1, transforms: bool = True, decorrelate: bool = True,
              diversity: float = 0.0, progress: bool = False, reduce: str = "center"):
    """Gradient ascent on the unit's response; returns (images (batch, C, S, S) in [0, 1], history).

    history[t] is the unit's mean response over the batch at step t, as seen through that
    step's random transform. reduce: the unit's "center" position or its "mean" over space.
    """
    layer, channel = parse_unit(unit)
    generator = torch.Generator().manual_seed(seed)
    spectrum = (0.01 * torch.randn(batch, channels, size, size // 2 + 1, 2, generator=generator)).requires_grad_()
    optimiser = torch.optim.Adam([spectrum], lr=lr)
    was_training = model.training
    model.eval()
    history = []
    try:
        for _ in tqdm(range(steps), disable=not progress, desc=f"visualising {unit}", leave=False):
            image = fourier_image(spectrum, size, decorrelate)
            seen = random_transform(image, generator) if transforms else image
            maps = layer_outputs(model, seen, [layer])[layer]
            response = _unit_objective(maps, channel, reduce)
            objective = response.mean() - diversity * _gram_similarity(maps)
            (gradient,) = torch.autograd.grad(-objective, [spectrum])
            spectrum.grad = gradient
            optimiser.step()
            history.append(response.mean().item())
    finally:
        model.train(was_training)
    with torch.no_grad():
        return fourier_image(spectrum, size, decorrelate), history


def fourier_image(spectrum: torch.Tensor, size: int, decorrelate: bool = True) -> torch.Tensor:
    """Image (B, C, S, S) in [0, 1] from Fourier variables (B, C, S, S//2+1, 2): 1/f scaling,
    inverse FFT, colour de-decorrelation for 3 channels, sigmoid."""
    fy = torch.fft.fftfreq(size)[:, None]
    fx = torch.fft.rfftfreq(size)[None, :]
    scale = 1.0 / torch.sqrt(fx**2 + fy**2).clamp_min(1.0 / size)  # 1/f, capped at the lowest frequency
    coefficients = torch.view_as_complex(spectrum) * scale
    x = torch.fft.irfft2(coefficients, s=(size, size), norm="ortho")
    if decorrelate and x.shape[1] == 3:
        x = torch.einsum("ij,bjhw->bihw", colour_correlation_root(), x)
    return torch.sigmoid(x)


def random_transform(images: torch.Tensor, generator: torch.Generator, pad: int = 2, jitter: int = 2,
                     scales=(0.9, 1.1), degrees: float = 10.0) -> torch.Tensor:
    """Pad with grey, then one random affine map per image (shift of up to `jitter` pixels,
    scale in `scales`, rotation within ±degrees), then crop back to the original size."""
    b, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad), value=0.5)
    u = torch.rand(b, 4, generator=generator)
    angle = torch.deg2rad((2 * u[:, 0] - 1) * degrees)
    zoom = scales[0] + (scales[1] - scales[0]) * u[:, 1]
    shift = (2 * u[:, 2:] - 1) * jitter * 2 / (w + 2 * pad)  # pixels -> normalised coordinates
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(padded.shape), align_corners=False)
    moved = F.grid_sample(padded, grid, padding_mode="border", align_corners=False)
    return moved[:, :, pad:pad + h, pad:pad + w]


@functools.lru_cache(maxsize=1)
def colour_correlation_root() -> torch.Tensor:
    """Square root of the RGB covariance of the course's natural images (3, 3), largest column norm 1.

    Multiplying uncorrelated unit-variance channels by it gives colours correlated like the data's.
    """
    from course.data.natural_images import natural_images  # the data the course's colour models see

    pixels = natural_images(128, seed=0).permute(0, 2, 3, 1).reshape(-1, 3).double()
    covariance = torch.cov(pixels.T)
    values, vectors = torch.linalg.eigh(covariance)
    root = vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T
    return (root / root.norm(dim=0).max()).float()


def _unit_objective(maps, channel, reduce):
    """The unit's response per image (B,): its centre position or its mean over space."""
    values = maps[:, channel]
    if values.dim() == 1:
        return values
    if reduce == "center":
        return values[:, values.shape[1] // 2, values.shape[2] // 2]
    if reduce == "mean":
        return values.flatten(1).mean(dim=1)
    raise ValueError(f"reduce must be 'center' or 'mean', got {reduce!r}")


def _gram_similarity(maps):
    """Mean cosine similarity between the Gram matrices (C, C) of different images of the batch."""
    if maps.shape[0] < 2 or maps.dim() != 4:
        return maps.new_zeros(())
    features = maps.flatten(2)
    grams = F.normalize((features @ features.transpose(1, 2)).flatten(1), dim=1)
    similarity = grams @ grams.T
    b = len(grams)
    return (similarity.sum() - similarity.diagonal().sum()) / (b * (b - 1))
