"""Units: name any channel of any layer as "layer:channel" and read what it computes.

Interpretability talks about *units*: one channel of one layer's output, e.g. "relu2:5" is
channel 5 of the output of the child module named `relu2`. A unit's response to an image
is a whole map (one value per position); `unit_response` boils it down to one number per
image (the centre position, whose receptive field sits on the middle of the image, or the
max or mean over positions).

We read a layer's output with a *forward hook*: a function PyTorch calls with the module's
output every time the module runs. Hooks must never be left behind (a forgotten hook keeps
firing in every later forward pass), so they are registered and removed inside one
`try/finally`. Once every requested layer has been seen, the hook stops the forward pass
early: the layers after it would be computed for nothing.

    maps = record_activations(model, images, ["relu1", "relu2"])   # {"relu1": (N, C1, H, W), ...}
    r = unit_response(model, images, "relu2:5", reduce="max")      # (N,)
"""
from __future__ import annotations

import torch
from torch import nn


def parse_unit(unit: str) -> tuple[str, int]:
    """'relu2:5' -> ('relu2', 5). A clear ValueError for anything else."""
    if not isinstance(unit, str) or unit.count(":") != 1:
        raise ValueError(f"a unit is written 'layer:channel', e.g. 'relu2:5'; got {unit!r}")
    layer, channel = unit.split(":")
    if not layer or not channel.strip().isdigit():
        raise ValueError(f"a unit is written 'layer:channel' with a non-negative integer channel; got {unit!r}")
    return layer, int(channel)


class _Enough(Exception):
    """Raised from a hook once every requested layer has produced its output."""


def layer_outputs(model: nn.Module, images: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
    """One forward pass of `images`, returning the named layers' outputs (gradients flow).

    The building block of `record_activations` (which adds batching and no_grad) and of
    feature visualisation (which needs the gradient of a unit with respect to the image).
    """
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules or name == ""]
    if missing:
        known = [name for name, _ in model.named_children()]
        raise ValueError(f"no layer named {missing} in the model; its layers are {known}")
    outputs: dict[str, torch.Tensor] = {}

    def hook_for(name):
        def hook(module, inputs, output):
            outputs[name] = output
            if len(outputs) == len(set(layers)):
                raise _Enough
        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in set(layers)]
    try:
        model(images)
    except _Enough:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def record_activations(model: nn.Module, images: torch.Tensor, layers: list[str],
                       batch_size: int = 256) -> dict[str, torch.Tensor]:
    """The full output maps {layer: (N, C, H, W)} of the named layers, computed without gradients.

    The model runs in eval mode for the recording (its previous mode is restored after).
    """
    was_training = model.training
    model.eval()
    parts: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                outputs = layer_outputs(model, images[start:start + batch_size], layers)
                for name in layers:
                    parts[name].append(outputs[name])
    finally:
        model.train(was_training)
    return {name: torch.cat(chunks) for name, chunks in parts.items()}


def select_unit(maps: torch.Tensor, unit: str, reduce: str = "center") -> torch.Tensor:
    """The unit's channel of a layer's maps (N, C, H, W) reduced to (N,): 'center' | 'max' | 'mean'.

    Outputs without space (N, C) are returned as the channel itself.
    """
    _, channel = parse_unit(unit)
    if not 0 <= channel < maps.shape[1]:
        raise ValueError(f"unit {unit!r}: channel {channel} out of range, the layer has {maps.shape[1]} channels")
    values = maps[:, channel]
    if values.dim() == 1:
        return values
    if reduce == "center":
        return values[:, values.shape[1] // 2, values.shape[2] // 2]
    if reduce == "max":
        return values.flatten(1).amax(dim=1)
    if reduce == "mean":
        return values.flatten(1).mean(dim=1)
    raise ValueError(f"reduce must be 'center', 'max' or 'mean', got {reduce!r}")


def unit_response(model: nn.Module, images: torch.Tensor, unit: str, reduce: str = "center",
                  batch_size: int = 256) -> torch.Tensor:
    """One number per image (N,): the unit's response at the centre, or its max or mean over space."""
    layer, _ = parse_unit(unit)
    maps = record_activations(model, images, [layer], batch_size=batch_size)[layer]
    return select_unit(maps, unit, reduce)
