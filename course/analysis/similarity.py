"""Cosine similarity of weights or factors, used by several chapters (motifs, high-low frequency)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def cosine_similarity(a: torch.Tensor, b: torch.Tensor) -> float:
    """cos of the angle between two vectors: 1 means the same shape up to a positive scale."""
    return F.cosine_similarity(a.flatten().double(), b.flatten().double(), dim=0).item()
