"""Naturally occurring equivariance: families of units and the circuits between them
Many units of a CNN are transformed copies of one another: the same edge detector at several
angles, the same colour contrast in several colours, a pattern and its mirror image. We build
tools that find such families from weights and from responses, check them on a hand-built
network whose families we planted, then look for them in a small trained network.
"""

# %%
import torch

from course.analysis.families import (angle_difference, compare_with_truth, find_families, find_families_from_tuning,
                                      relative_orientation_profile, rotated_stimulus_responses, rotation_consistency,
                                      rotation_test)
from course.analysis.feature_vis import visualize
from course.analysis.stimuli import colour_contrast
from course.analysis.tuning import preferred_angle, selectivity
from course.data.natural_images import natural_images
from course.figures.natural_equivariance import (circuit_kernels_figure, family_rows_figure, relative_profile_figure,
                                                 rgb_weights, rotation_test_figure, tuning_curves_figure)
from course.models import load_shipped
from course.models.constructed_families import ConstructedFamilies, planted_truth
from course.runtime.lesson import Lesson

ANGLES = torch.arange(0.0, 360.0, 10.0)


def edge_stimulus():
    """One white-right / black-left edge through the centre pixel of a 33×33 image."""
    return colour_contrast(size=33, orientations_deg=[0.0], colour_pairs=[((1.0, 1.0, 1.0), (0.0, 0.0, 0.0))])[0]


def family_titles(family, mirrored=False):
    """'#unit angle' for each member; a mirror family's members after the first are mirror images."""
    return [f"#{u}" + ((" mirror" if i else "") if mirrored else f" {o:.0f}°")
            for i, (u, o) in enumerate(zip(family["units"], family["offsets"]))]


# %% [markdown]
# ## A network whose families we know
# Before trusting a tool on a trained network, we run it where the answer is known. This
# small network is written by hand: eight edge detectors at 0°, 45°, …, 315°, three copies of
# one colour edge in different colours, a shape and its mirror image, and a spot detector
# that looks the same from every angle. Its second layer wires these units in the circuits
# we will meet below.

# %%
def families_from_weights(lesson):
    model, truth = ConstructedFamilies(), planted_truth()
    w = model.conv1.weight.detach()
    rotation = find_families(w, "rotation", threshold=0.9, step=1.0)
    hue = find_families(w, "hue", threshold=0.9, step=1.0)
    mirror = find_families(w, "reflection", threshold=0.9, step=2.0)
    planted = truth["rotation_family"]
    found = compare_with_truth(rotation, planted["units"], planted["angles"])
    lesson.report("constructed_rotation_wrong_units", found["wrong_units"],
                  "edge family: units missed or wrongly included, from weights alone", bound=0)
    lesson.report("constructed_rotation_angle_error_deg", found["angle_error_deg"],
                  "edge family: largest error of a member's recovered angle (°)", bound=3.0)
    hue_found = compare_with_truth(hue, truth["hue_family"]["units"], [0.0, 120.0, 240.0])
    lesson.report("constructed_hue_wrong_units", hue_found["wrong_units"], "hue family: units missed or extra", bound=0)
    lesson.report("constructed_hue_angle_error_deg", hue_found["angle_error_deg"],
                  "hue family: error of the recovered colour turns (0°, 120°, 240°)", bound=3.0)
    lesson.report("constructed_mirror_pairs_found", len(mirror), "mirror families found (planted: 1)", bound=1, at_least=1)
    lesson.report("constructed_families_found", len(rotation) + len(hue) + len(mirror),
                  "families of any kind found among 16 units (planted: 3; distractors must join none)", bound=3, at_least=3)
    pictures = rgb_weights(w)
    rows = [(f"{kind}\nfamily", pictures[f["units"]], family_titles(f, mirrored=kind == "mirror"))
            for kind, families in (("rotation", rotation), ("hue", hue), ("mirror", mirror)) for f in families]
    lesson.save(family_rows_figure(rows, "Constructed network, conv1: families found from the weights "
                                         "(unit number, recovered angle)"), "constructed_families")


# %% [markdown]
# ## Families from responses: turn a stimulus, watch who answers
# Weights are not the only evidence. Show every unit one edge, turned through a full circle,
# and record its response at the centre: each edge detector draws the same bump, shifted to
# its own angle. Units whose curves match up to a shift form a family, and the shift is the
# angle between them. This works for any layer, where weights are harder to read.

# %%
def families_from_responses(lesson):
    model, truth = ConstructedFamilies(), planted_truth()
    planted = truth["rotation_family"]
    units = [f"relu1:{u}" for u in range(16)]
    curves = rotated_stimulus_responses(model, units, edge_stimulus(), ANGLES)
    found = compare_with_truth(find_families_from_tuning(curves, ANGLES, threshold=0.95), planted["units"],
                               planted["angles"])
    lesson.report("constructed_tuning_angle_error_deg", found["angle_error_deg"],
                  "edge family from tuning curves: largest angle error (°, 10° steps)", bound=5.0)
    preferred = ANGLES[curves[planted["units"]].argmax(dim=1)]
    lesson.report("constructed_preferred_angle_error_deg",
                  angle_difference(preferred, torch.tensor(planted["angles"])).abs().max().item(),
                  "each edge unit's preferred angle vs its planted angle (°)", bound=5.0)
    lesson.save(tuning_curves_figure(ANGLES, curves[planted["units"]],
                                     [f"unit {u} ({a:.0f}°)" for u, a in zip(planted["units"], planted["angles"])],
                                     "Constructed edge family: one turning edge, eight shifted copies of one curve"),
                "constructed_tuning")


# %% [markdown]
# ## The rotation test
# If unit B is unit A turned by an angle, then whatever excites A should excite B once it is
# turned by that angle. Take the natural images that excite A most, turn each about the
# centre, and compare: B's response to the turned image against A's response to the original.
# A correlation near 1 says B really is a turned A; without the turn it should be low.

# %%
def rotation_test_constructed(lesson, images):
    model = ConstructedFamilies()
    k = 32 if lesson.fast else 64
    panels = []
    for name, a, b, angle in (("edge_90", "relu1:0", "relu1:2", 90.0), ("edge_45", "relu1:0", "relu1:1", 45.0),
                              ("curve_45", "relu2:1", "relu2:2", 45.0)):
        result = rotation_test(model, a, b, angle, images, k=k)
        lesson.report(f"constructed_rotation_test_{name}", result["correlation"],
                      f"{a} → {b} turned {angle:.0f}°: corr(A(x), B(turned x)) over A's top {k} images", at_least=0.9)
        # the control is only clearly low for a quarter turn: edges 45° apart share much of their stimuli
        lesson.report(f"constructed_rotation_test_{name}_unturned", result["unrotated_correlation"],
                      "the same without turning the images (the control)", bound=0.7 if angle == 90.0 else None)
        panels.append((f"{a} → {b}, turned {angle:.0f}°", *result["responses"], result["correlation"]))
    lesson.save(rotation_test_figure(panels), "constructed_rotation_test")


# %% [markdown]
# ## Circuits between families
# Three wiring patterns keep a network equivariant. *Equivariant → equivariant*: the weight
# from an edge unit to a curve unit depends only on the angle between them, so one curve of
# weight against relative angle describes all 64 connections. *Equivariant → invariant*: a
# unit that sums a family with the same pattern turned to each member's angle responds the
# same whatever the orientation. *Invariant → equivariant* is that pattern transposed: one
# angle-free unit feeds a whole family, its weights turning from member to member.

# %%
def circuits_constructed(lesson):
    model, truth = ConstructedFamilies(), planted_truth()
    w = model.conv2.weight.detach()
    curve = truth["equivariant_to_equivariant"]
    values = w[curve["units"]][:, curve["from"], 1, 1]
    centres, means, residual = relative_orientation_profile(values, curve["relative_angles"], curve["angles"])
    lesson.report("constructed_relative_profile_residual", residual,
                  "edge → curve weights: spread not explained by relative angle alone", bound=1e-6)
    lesson.report("constructed_relative_profile_error", (means - torch.tensor(curve["relative_profile"])).abs().max(),
                  "recovered weight-vs-relative-angle curve vs the planted one", bound=1e-6)
    relative = (torch.tensor(curve["relative_angles"])[None, :] - torch.tensor(curve["angles"])[:, None]) % 360
    lesson.save(relative_profile_figure([("constructed: edges → curves", relative.flatten(), values.flatten(),
                                          centres, means)]), "constructed_relative_profile")
    to_inv, from_inv = truth["equivariant_to_invariant"], truth["invariant_to_equivariant"]
    kernels_in, kernels_out = w[to_inv["unit"], to_inv["from"]], w[from_inv["units"], from_inv["from"]]
    for key, kernels, angles in (("equivariant_to_invariant", kernels_in, to_inv["from_angles"]),
                                 ("invariant_to_equivariant", kernels_out, from_inv["angles"])):
        lesson.report(f"constructed_{key}_spread_deg", rotation_consistency(kernels, angles)["spread_deg"],
                      f"{key.replace('_', ' ')}: how far the kernels' lean strays from the member angle (°)",
                      bound=1e-3)
    lesson.save(circuit_kernels_figure([("edges →\ninvariant", kernels_in, to_inv["from_angles"]),
                                        ("spot →\nfamily", kernels_out, from_inv["angles"])]),
                "constructed_circuit_kernels")


# %% [markdown]
# ## The trained model: a small edge-direction labeller
# OrientedNet looks at a natural-like image and labels every pixel with the direction of the
# edge running through it (8 directions) or "flat". The same question is asked at every angle,
# so its first layer has reason to hold one edge detector at several angles. First, is it any
# good? Its pixel accuracy is compared with always giving the most common label ("flat").

# %%
def trained_model(lesson):
    model, metadata = load_shipped("oriented_net")
    metrics = metadata["metrics"]
    lesson.report("oriented_net_test_pixel_accuracy", metrics["test_accuracy"], "label right, test pixels")
    lesson.report("oriented_net_majority_baseline", metrics["test_majority_baseline"], "always the most common label")
    lesson.report("oriented_net_gain_over_baseline", metrics["test_accuracy"] - metrics["test_majority_baseline"],
                  "what the network adds to the trivial answer", at_least=0.1)
    lesson.report("oriented_net_edge_pixel_accuracy", metrics["test_edge_accuracy"],
                  "direction right on edge pixels (guessing: 1/8)", at_least=0.3)
    return model


# %% [markdown]
# ## Families in the trained first layer, from weights
# The same search as on the constructed network, now with a looser bar (cosine 0.8): a trained
# network's copies are only approximately turned or recoloured versions of one another. Here
# the search does find rotation families, and a mirror family too. The task matters: another
# model of this course, trained to tell sharp from blurred pixels, needs "how much fine detail",
# not "which direction", and its first layer grew no families at all (counted below).

# %%
def trained_families_from_weights(lesson, model):
    w = model.conv1.weight.detach()
    found = {kind: find_families(w, kind, threshold=0.8, step=2.0) for kind in ("rotation", "hue", "reflection")}
    for kind, families in found.items():
        lesson.report(f"trained_conv1_{kind}_families", len(families),
                      f"{kind} families among OrientedNet's {len(w)} conv1 units (weight cosine >= 0.8)")
        lesson.record(f"trained_conv1_{kind}_family_units", [f["units"] for f in families])
    biggest = max(found["rotation"], key=lambda f: len(f["units"]))
    lesson.report("trained_conv1_rotation_families_3plus", sum(len(f["units"]) >= 3 for f in found["rotation"]),
                  "rotation families with at least 3 members", at_least=2)
    lesson.report("trained_conv1_largest_rotation_family", len(biggest["units"]),
                  f"members: {biggest['units']}, angles {[round(o) for o in biggest['offsets']]}", at_least=4)
    focus = find_families(load_shipped("focus_net")[0].conv1.weight.detach(), "rotation", threshold=0.8, step=2.0)
    lesson.report("focus_net_conv1_rotation_families", len(focus), "the in-focus model's conv1: rotation families")
    pictures = rgb_weights(w)
    rows = [(f"units\n{i}-{i + 7}", pictures[i:i + 8], [f"#{u}" for u in range(i, i + 8)]) for i in range(0, len(w), 8)]
    rows.append(("largest\nrotation\nfamily", pictures[biggest["units"]], family_titles(biggest)))
    lesson.save(family_rows_figure(rows, "OrientedNet conv1 weights as colours (grey = 0)"), "trained_conv1_weights")
    return biggest


# %% [markdown]
# ## Families in the trained model, from responses
# Turn one edge through a full circle in front of every unit of the first two layers. Units
# whose tuning curves are shifted copies of one another (correlation >= 0.9) form families,
# and the shift between two curves is the angle between the two units. Be wary: any two
# curves with a single bump match fairly well after a shift, so this groups loosely (most
# units end up in one family). The rotation test that follows asks the sharper question, on
# real images, of the largest family found from the weights.

# %%
def trained_families_from_responses(lesson, model):
    found = []
    for layer, conv in (("relu1", model.conv1), ("relu2", model.conv2)):
        units = [f"{layer}:{u}" for u in range(conv.out_channels)]
        curves = rotated_stimulus_responses(model, units, edge_stimulus(), ANGLES)
        responsive = curves.amax(dim=1) > 0.1 * curves.amax()
        keep = [u for u, r in zip(units, responsive) if r]
        families = find_families_from_tuning(curves[responsive], ANGLES, threshold=0.9, units=keep)
        lesson.report(f"trained_{layer}_responsive_units", len(keep), f"of {len(units)} {layer} units answer the edge")
        lesson.report(f"trained_{layer}_tuning_families", len(families), "families of shifted tuning curves (corr >= 0.9)")
        lesson.record(f"trained_{layer}_tuning_family_units", [f["units"] for f in families])
        found += [(f, curves[responsive][[keep.index(u) for u in f["units"]]]) for f in families]
    biggest, curves = max(found, key=lambda pair: len(pair[0]["units"]))
    lesson.report("trained_largest_tuning_family", len(biggest["units"]), f"members of the largest: {biggest['units']}")
    labels = [f"{u} (+{o:.0f}°)" for u, o in zip(biggest["units"], biggest["offsets"])]
    lesson.save(tuning_curves_figure(ANGLES, curves, labels, "OrientedNet: the largest family of shifted tuning curves"),
                "trained_tuning")
    return biggest


# %% [markdown]
# ## The rotation test in the trained model
# For each member of the largest weight family, turn the images that excite its first member
# by the member's angle offset, and correlate. Without the turn the same comparison is the
# control. Turning helps clearly here, though it stays well short of the near-perfect 1.0 of
# the constructed network: the trained copies are approximate, and each has its own threshold.

# %%
def rotation_test_trained(lesson, model, family, images):
    units = [f"relu1:{u}" for u in family["units"]]
    first, k = units[0], 32 if lesson.fast else 64
    results = [rotation_test(model, first, other, offset, images, k=k)
               for other, offset in zip(units[1:], family["offsets"][1:])]
    turned = torch.tensor([r["correlation"] for r in results])
    unturned = torch.tensor([r["unrotated_correlation"] for r in results])
    lesson.report("trained_rotation_test_mean", turned.mean(), f"mean corr over {len(results)} members, turned",
                  at_least=0.5)
    lesson.report("trained_rotation_test_unturned_mean", unturned.mean(), "the same without turning (control)")
    lesson.report("trained_rotation_test_gain", (turned - unturned).mean(), "turning helps by this much on average",
                  at_least=0.2)
    panels = [(f"{which}: {first} → {units[i + 1]}, turned {family['offsets'][i + 1]:.0f}°",
               *results[i]["responses"], results[i]["correlation"])
              for which, i in (("best", int(turned.argmax())), ("worst", int(turned.argmin())))]
    lesson.save(rotation_test_figure(panels), "trained_rotation_test")


# %% [markdown]
# ## What the family members look for
# Feature visualisation (gradient ascent on the image, lesson 05's idea made robust) shows the
# input each member of the family likes best. Laid out by angle offset, a family of turned
# copies should look like one picture turning. Look for the same edge at the listed angles; a
# trained network's copies differ in detail (colour, width), so expect a family resemblance
# rather than exact copies.

# %%
def feature_visualisation_trained(lesson, model, family):
    steps = 48 if lesson.fast else 256
    order = sorted(range(len(family["units"])), key=lambda i: family["offsets"][i])
    # optimise the unit before its ReLU: a unit silent on the grey starting image still gets a gradient
    pictures = [visualize(model, f"conv1:{family['units'][i]}", steps=steps, seed=lesson.seed)[0][0] for i in order]
    images = torch.stack(pictures).permute(0, 2, 3, 1).numpy()
    titles = [f"relu1:{family['units'][i]}\n+{family['offsets'][i]:.0f}°" for i in order]
    rows = [("", images[i:i + 7], titles[i:i + 7]) for i in range(0, len(images), 7)]
    lesson.save(family_rows_figure(rows, f"OrientedNet: the family's preferred inputs, by angle offset ({steps} steps)",
                                   ncols=7, cell=1.9), "trained_feature_vis")


# %% [markdown]
# ## Circuits in the trained model
# Give every unit of the first two layers the angle where it answers the turning edge best,
# and keep the units that care about angle (selectivity >= 0.3). Then ask the three circuit
# questions of the real weights: does the conv2 weight from an oriented conv1 unit to an
# oriented conv2 unit follow their relative angle, and do the weights between angle-free and
# oriented units turn with the oriented unit's angle? Shuffling the angles gives the chance level.
# Compare the residual with its shuffled chance level: only a residual well below chance would
# mean wiring by relative angle. In a two-layer net trained for about a minute we make no claim
# either way beyond the numbers; clean equivariant circuits were first described in large
# trained vision models.

# %%
def circuits_trained(lesson, model):
    oriented, invariant = {}, {}
    for layer, conv in (("relu1", model.conv1), ("relu2", model.conv2)):
        curves = rotated_stimulus_responses(model, [f"{layer}:{u}" for u in range(conv.out_channels)],
                                            edge_stimulus(), ANGLES)
        live = curves.amax(dim=1) > 0.1 * curves.amax()
        chosen = [(u, preferred_angle(ANGLES, c)) for u, c in enumerate(curves) if live[u] and selectivity(ANGLES, c) >= 0.3]
        oriented[layer] = chosen
        invariant[layer] = [u for u, c in enumerate(curves) if live[u] and selectivity(ANGLES, c) < 0.3]
    sources, source_angles = zip(*oriented["relu1"])
    targets, target_angles = zip(*oriented["relu2"])
    w = model.conv2.weight.detach()
    values = w[list(targets)][:, list(sources), 1, 1]
    centres, means, residual = relative_orientation_profile(values, source_angles, target_angles)
    shuffle = torch.randperm(len(source_angles), generator=torch.Generator().manual_seed(lesson.seed))
    chance = relative_orientation_profile(values, torch.tensor(source_angles)[shuffle], target_angles)[2]
    lesson.report("trained_oriented_relu1_units", len(sources), "relu1 units with orientation selectivity >= 0.3")
    lesson.report("trained_oriented_relu2_units", len(targets), "relu2 units with orientation selectivity >= 0.3")
    lesson.report("trained_relative_profile_residual", residual, "conv1 → conv2 centre weights: spread left by relative angle")
    lesson.report("trained_relative_profile_residual_shuffled", chance, "the same with conv1 angles shuffled (chance)")
    relative = (torch.tensor(source_angles)[None, :] - torch.tensor(target_angles)[:, None]) % 360
    curve = planted_truth()["equivariant_to_equivariant"]
    constructed = ConstructedFamilies().conv2.weight.detach()[curve["units"]][:, curve["from"], 1, 1]
    c_relative = (torch.tensor(curve["relative_angles"])[None, :] - torch.tensor(curve["angles"])[:, None]) % 360
    c_centres, c_means, _ = relative_orientation_profile(constructed, curve["relative_angles"], curve["angles"])
    lesson.save(relative_profile_figure([("constructed: edges → curves", c_relative.flatten(), constructed.flatten(),
                                          c_centres, c_means),
                                         ("OrientedNet: oriented conv1 → oriented conv2", relative.flatten(),
                                          values.flatten(), centres, means)]), "relative_profiles")
    if invariant["relu1"]:  # invariant → equivariant: does the 3×3 kernel from an angle-free unit turn with the target?
        source = max(invariant["relu1"], key=lambda u: w[list(targets), u].norm().item())
        kernels = w[list(targets), source]
        lesson.report("trained_invariant_to_equivariant_spread_deg",
                      rotation_consistency(kernels, target_angles)["spread_deg"],
                      f"relu1:{source} (angle-free) → oriented relu2 units: largest lean deviation (°)")
        lesson.report("trained_invariant_to_equivariant_spread_shuffled_deg",
                      rotation_consistency(kernels, torch.tensor(target_angles)[torch.randperm(
                          len(target_angles), generator=torch.Generator().manual_seed(lesson.seed))])["spread_deg"],
                      "the same with the angles shuffled (chance)")
    return oriented, invariant


# %%
def main(argv=None):
    lesson = Lesson.start(__doc__, argv, __file__)
    images = natural_images(400 if lesson.fast else 2000, seed=lesson.seed + 100)
    families_from_weights(lesson)
    families_from_responses(lesson)
    rotation_test_constructed(lesson, images)
    circuits_constructed(lesson)
    model = trained_model(lesson)
    family = trained_families_from_weights(lesson, model)
    trained_families_from_responses(lesson, model)
    rotation_test_trained(lesson, model, family, images)
    feature_visualisation_trained(lesson, model, family)
    circuits_trained(lesson, model)
    return lesson.finish()


if __name__ == "__main__":
    main()
