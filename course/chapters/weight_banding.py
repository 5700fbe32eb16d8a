"""Lesson 10: weight banding measured layer by layer over the shipped BandingNet variants and seeds.

The models and their recipes live in `course.models.banding_net`; the score in
`course.analysis.banding`. This module puts them together the way the lesson reads them:

1. `load_variants`, `banding_tables`: every variant's shipped seeds, scored one layer at a time
   (the article looks at the last conv layer and the one before it separately; averaging them
   would hide a band that moves from one to the other).
2. `untrained_spread`: how far the score of a freshly initialised layer strays from 0, the noise
   level against which a trained layer's score is read; `seed_counts` and `verdict` say how many
   seeds band past a threshold, and which way.
3. `banding_summary_table`, `format_banding_table`: the closing table, per variant and layer, with
   what the article saw in the same place.
4. `retrain_and_compare`: one seed of every variant retrained from scratch, against the shipped one.
"""
from __future__ import annotations

import statistics

import torch

from course.analysis.banding import banding_score
from course.models.banding_net import GROUPS, SEEDS, VARIANTS, BandingNet, train_banding
from course.models.registry import RECIPES, load_shipped


def load_variants(seeds=SEEDS) -> dict[str, list]:
    """The shipped models: {variant: [(model, metadata) for each seed]}."""
    return {variant: [load_shipped(f"banding_{variant}_s{seed}") for seed in seeds] for variant in VARIANTS}


def banding_tables(models: dict[str, list], layers) -> dict[str, dict[str, list[dict]]]:
    """{layer: {variant: [banding_score of that one layer, for each seed]}} (models from load_variants)."""
    return {layer: {variant: [banding_score(getattr(model, layer).weight) for model, _ in runs]
                    for variant, runs in models.items()}
            for layer in layers}


def untrained_spread(layer: str, inits: int = 100) -> float:
    """Standard deviation of a layer's banding score over `inits` freshly initialised BandingNets.

    A trained layer whose score lies within a few of these of 0 shows no more banding than chance.
    """
    scores = []
    for seed in range(inits):
        torch.manual_seed(10_000 + seed)  # away from the training seeds
        scores.append(banding_score(getattr(BandingNet(groups=GROUPS), layer).weight)["banding"])
    return statistics.stdev(scores)


def seed_counts(values, threshold: float) -> dict[str, int]:
    """How many seeds band horizontally (score >= threshold), vertically (<= -threshold), or neither."""
    horizontal = sum(v >= threshold for v in values)
    vertical = sum(v <= -threshold for v in values)
    return {"horizontal": horizontal, "vertical": vertical, "none": len(values) - horizontal - vertical}


def verdict(values, threshold: float) -> str:
    """In words, what most seeds show: "horizontal 3/3", "none 2/3", or "mixed" when no kind has a majority."""
    counts = seed_counts(values, threshold)
    kind, count = max(counts.items(), key=lambda item: item[1])
    return f"{kind} {count}/{len(values)}" if count > len(values) / 2 else "mixed"


def mean_and_spread(values) -> tuple[float, float]:
    """Mean and sample standard deviation over seeds."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def retrain_and_compare(layers, seed: int = 0, progress: bool = True) -> dict[str, dict]:
    """Retrain one seed of every variant from scratch; compare with the shipped checkpoint.

    Returns {variant: {"accuracy_difference", "banding": {layer: retrained}, "shipped_banding": {layer: shipped}}}.
    """
    results = {}
    for variant in VARIANTS:
        name = f"banding_{variant}_s{seed}"
        model, metadata = train_banding(RECIPES[name], progress=progress)
        shipped, shipped_metadata = load_shipped(name)
        results[variant] = {
            "accuracy_difference": abs(metadata["metrics"]["test_accuracy"]
                                       - shipped_metadata["metrics"]["test_accuracy"]),
            "banding": {layer: banding_score(getattr(model, layer).weight)["banding"] for layer in layers},
            "shipped_banding": {layer: banding_score(getattr(shipped, layer).weight)["banding"] for layer in layers},
        }
    return results


# What the Circuits article saw in its simplified network, in the last conv layer (our conv3b) and
# the one before it (our conv3a); "not reported" where it says nothing about that layer.
ARTICLE = {
    "baseline": {"conv3a": "often bands too", "conv3b": "horizontal bands"},
    "rotated": {"conv3a": "not reported", "conv3b": "vertical bands"},
    "flatten": {"conv3a": "not reported", "conv3b": "no bands"},
    "avg_x": {"conv3a": "horizontal bands", "conv3b": "no bands"},
    "shape_only": {"conv3a": "not in the article", "conv3b": "not in the article"},
}


def banding_summary_table(banding: dict[str, dict[str, list[float]]], accuracy: dict[str, list[float]],
                          threshold: float) -> list[dict]:
    """One row per variant and layer: the score per seed, mean and spread, what most seeds show, what the
    article saw, and the variant's worst test accuracy.

    banding: {layer: {variant: [score per seed]}}; accuracy: {variant: [accuracy per seed]}.
    """
    rows = []
    for variant in accuracy:
        for layer, scores in banding.items():
            values = scores[variant]
            mean, spread = mean_and_spread(values)
            rows.append({"variant": variant, "layer": layer, "per_seed": values, "mean": mean, "sd": spread,
                         "here": verdict(values, threshold), "article": ARTICLE[variant][layer],
                         "worst_accuracy": min(accuracy[variant])})
    return rows


def format_banding_table(rows: list[dict]) -> str:
    """The closing table as aligned text, one line per variant and layer."""
    lines = [f"  {'variant':<11} {'layer':<7} {'banding per seed':<22} {'mean ± sd':<16} {'here (seeds)':<17} "
             f"{'article':<19} accuracy"]
    previous = None
    for row in rows:
        variant = row["variant"] if row["variant"] != previous else ""
        accuracy = f"{row['worst_accuracy']:.3f}" if variant else ""
        seeds = " ".join(f"{v:+.3f}" for v in row["per_seed"])
        lines.append(f"  {variant:<11} {row['layer']:<7} {seeds:<22} {row['mean']:+.3f} ± {row['sd']:.3f}   "
                     f"{row['here']:<17} {row['article']:<19} {accuracy}")
        previous = row["variant"]
    return "\n".join(lines)
