"""Lesson 10: weight banding measured over the shipped BandingNet variants and seeds, and retrained.

The models and their recipes live in `course.models.banding_net`; the score in
`course.analysis.banding`. This module puts them together the way the lesson reads them:
every variant's shipped seeds, a banding table per layer group, the article's finding beside
each row, and one seed of every variant retrained from scratch to check the shipped numbers.
"""
from __future__ import annotations

from course.analysis.banding import banding_score
from course.models.banding_net import SEEDS, VARIANTS, train_banding
from course.models.registry import RECIPES, load_shipped


def load_variants(seeds=SEEDS) -> dict[str, list]:
    """The shipped models: {variant: [(model, metadata) for each seed]}."""
    return {variant: [load_shipped(f"banding_{variant}_s{seed}") for seed in seeds] for variant in VARIANTS}


def banding_table(models: dict[str, list], layers: list[str]) -> dict[str, list[dict]]:
    """{variant: [banding_score of the named layers together, for each seed]} (models from load_variants)."""
    return {variant: [banding_score([getattr(model, layer).weight for layer in layers]) for model, _ in runs]
            for variant, runs in models.items()}


def retrain_and_compare(layers: list[str], seed: int = 0, progress: bool = True) -> dict[str, dict]:
    """Retrain one seed of every variant from scratch; compare with the shipped checkpoint.

    Returns {variant: {"accuracy_difference", "banding", "shipped_banding"}}, banding of `layers` together.
    """
    results = {}
    for variant in VARIANTS:
        name = f"banding_{variant}_s{seed}"
        model, metadata = train_banding(RECIPES[name], progress=progress)
        shipped, shipped_metadata = load_shipped(name)
        results[variant] = {
            "accuracy_difference": abs(metadata["metrics"]["test_accuracy"]
                                       - shipped_metadata["metrics"]["test_accuracy"]),
            "banding": banding_score([getattr(model, layer).weight for layer in layers])["banding"],
            "shipped_banding": banding_score([getattr(shipped, layer).weight for layer in layers])["banding"],
        }
    return results


# What the Circuits article saw in its simplified network.
ARTICLE = {"baseline": "horizontal bands", "rotated": "vertical bands", "flatten": "no bands",
           "avg_x": "bands, like the baseline", "shape_only": "(not in the article)"}


def banding_summary_table(banding: dict[str, dict[str, list[float]]], accuracy: dict[str, list[float]]) -> list[dict]:
    """One row per variant: banding per seed for each layer group, worst accuracy, the article's finding.

    banding: {layer group: {variant: [score per seed]}}; accuracy: {variant: [accuracy per seed]}.
    """
    return [{"variant": variant, **{group: scores[variant] for group, scores in banding.items()},
             "worst_accuracy": min(accuracy[variant]), "article": ARTICLE[variant]} for variant in accuracy]


def format_banding_table(rows: list[dict]) -> str:
    """The table as aligned text: per seed scores and their mean for every layer group."""
    groups = [key for key in rows[0] if key not in ("variant", "worst_accuracy", "article")]
    header = f"  {'variant':<11}" + "".join(f" {group + ' per seed (mean)':<34}" for group in groups)
    lines = [header + f" {'accuracy':>8}  article"]
    for row in rows:
        cells = "".join(f" {' '.join(f'{v:+.3f}' for v in row[g]) + f' ({sum(row[g]) / len(row[g]):+.3f})':<34}"
                        for g in groups)
        lines.append(f"  {row['variant']:<11}{cells} {row['worst_accuracy']:>8.3f}  {row['article']}")
    return "\n".join(lines)
