"""A second correct solution, written independently of the reference one: it must score full marks.

The turn is written out as bilinear interpolation with tensors: each output tap finds the
point it comes from, the four taps around it, and their weights; taps outside the kernel
read 0 from a zero border added around it. Curves are compared for every shift at once by
circular cross-correlation through the FFT: Σ_m a[m - s] b[m] is entry s of ifft(conj(fft(a)) fft(b)).
"""
import math

import torch
import torch.nn.functional as F

BROKEN = None


def rotate_kernel(w, degrees):
    k = w.shape[-1]
    c = (k - 1) / 2
    t = math.radians(degrees)
    i, j = torch.meshgrid(torch.arange(k, dtype=torch.float64), torch.arange(k, dtype=torch.float64), indexing="ij")
    x, y = j - c, c - i
    row = c - (-math.sin(t) * x + math.cos(t) * y)
    col = c + (math.cos(t) * x + math.sin(t) * y)
    r0, c0 = torch.floor(row), torch.floor(col)
    fr, fc = row - r0, col - c0
    padded = F.pad(w.reshape(-1, k, k), (2, 2, 2, 2))  # a border of zeros: a neighbour outside reads 0

    def taps(r, s):
        inside = (r >= -2) & (r <= k + 1) & (s >= -2) & (s <= k + 1)
        rr, ss = (r.clamp(-2, k + 1) + 2).long(), (s.clamp(-2, k + 1) + 2).long()
        return padded[:, rr, ss] * inside.to(w.dtype)

    out = ((1 - fr) * (1 - fc) * taps(r0, c0) + (1 - fr) * fc * taps(r0, c0 + 1)
           + fr * (1 - fc) * taps(r0 + 1, c0) + fr * fc * taps(r0 + 1, c0 + 1))
    return out.to(w.dtype).reshape(w.shape)


def best_rotated_match(weights, unit, angles_deg):
    best = None
    for a in angles_deg:
        turned = rotate_kernel(weights[unit], a).reshape(-1)
        for j in range(len(weights)):
            if j == unit:
                continue
            target = weights[j].reshape(-1)
            norms = float(torch.linalg.vector_norm(turned) * torch.linalg.vector_norm(target))
            cosine = float(torch.dot(turned, target)) / norms if norms > 0 else 0.0
            if best is None or cosine > best[2]:
                best = (j, float(a), cosine)
    return best


def tuning_offset(a, b):
    n = len(a)
    a, b = a.double() - a.double().mean(), b.double() - b.double().mean()
    norms = float(torch.linalg.vector_norm(a) * torch.linalg.vector_norm(b))
    if norms == 0:
        return 0.0, 0.0
    scores = torch.fft.ifft(torch.fft.fft(a).conj() * torch.fft.fft(b)).real / norms
    s = int(torch.argmax(scores))
    return s * 360.0 / n, float(scores[s])


def family_from_tuning(curves, unit, threshold):
    found = [(j, *tuning_offset(curves[unit], curves[j])) for j in range(len(curves))]
    return [(j, offset) for offset, j, correlation in sorted((o, j, r) for j, o, r in found) if correlation >= threshold]
