"""The "torch" backend: `torch.nn.functional.conv2d` itself, the reference for every other backend.

The conformance suite compares each backend with this function evaluated in float64, so the
reference's own rounding does not count against a backend.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

SUPPORTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
DEVICE = None  # any device PyTorch runs on
POISONS_OUTPUTS = False  # PyTorch allocates its own outputs; there is nothing of ours to poison


def available() -> tuple[bool, str]:
    """PyTorch is always there."""
    return True, ""


def conv2d(input, weight, bias, stride, padding, dilation, groups):
    """F.conv2d with checked arguments: stride, padding (symmetric), dilation as pairs of ints."""
    return F.conv2d(input, weight, bias, stride, padding, dilation, groups)
