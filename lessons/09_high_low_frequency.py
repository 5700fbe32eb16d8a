"""High-low frequency detectors: units that find where fine texture meets smooth content
Synthetic stimuli with fine texture on one side of a boundary and coarse texture on the other;
tuning over (boundary orientation, frequency ratio); the family of such units and how its
preferred orientations cover 360°; one-sided NMF of the family's expanded weights into a
high-frequency and a low-frequency factor whose spatial weights mirror each other; and which
later units use the family. First on a hand-built network with a planted answer, then on the
trained FocusNet.
"""

# %%
import torch

from course.analysis.circuit_figures import image_grid
from course.analysis.similarity import cosine_similarity
from course.chapters.high_low_frequency import (analyse_factors, angle_error, downstream_use, downstream_weights,
                                                high_low_candidates, high_low_stimuli, layer_tunings,
                                                orientation_coverage)
from course.figures.high_low_frequency import (plot_downstream, plot_factors, plot_family_compass, plot_spatial_factors,
                                               plot_tuning_heatmaps)
from course.models import load_shipped
from course.models.constructed_high_low import ConstructedHighLow
from course.runtime.lesson import Lesson

RATIOS = (1, 2, 4, 8)
CONSTRUCTED_SIZE = 33  # odd: the centre unit sits exactly on the stimuli's boundary
FOCUS_SIZE = 30  # after FocusNet's 2×2 pool, the centre unit of a 30-pixel input sits on the boundary too


def stimulus_grid(lesson, size):
    """The (orientation × ratio × phase) grid: 16 orientations and 2 phases with --fast, else 24 and 4."""
    step, phases = (22.5, (0.0, 3.1416)) if lesson.fast else (15.0, (0.0, 1.5708, 3.1416, 4.7124))
    return high_low_stimuli([step * k for k in range(int(360 / step))], RATIOS, phases, size=size)


# %% [markdown]
# ## Stimuli: fine texture on one side, coarse texture on the other
# A high-low stimulus has a straight boundary through the centre. On the side its orientation
# points to there is a fine plaid (0.35 cycles per pixel); on the other side the same plaid is
# stretched by the frequency ratio. Ratio 1 has no boundary at all, only uniform texture, and
# orientations 180° apart swap the two sides. Both sides have the same mean brightness and
# contrast, so only the *frequency* changes across the boundary.

# %%
def stimuli(lesson):
    picks = [(0.0, 1), (0.0, 4), (90.0, 4), (225.0, 8)]
    images, params = high_low_stimuli([o for o, _ in picks], RATIOS, (0.0,))
    keep = [int(((params["orientation"] == o) & (params["ratio"] == r)).nonzero()[0]) for o, r in picks]
    lesson.save(image_grid(images[keep], [f"{o:.0f}°, ratio {r}" for o, r in picks], ncols=4,
                           title="High-low stimuli: fine texture on the side the orientation points to"), "stimuli")
    lesson.report("high_frequency", 0.35, "cycles per pixel on the fine side of every stimulus")


# %% [markdown]
# ## A network with planted high-low detectors
# Before we trust the tools on a trained network, we run them on one whose answer we wrote
# down: `ConstructedHighLow` has early units for fine texture and for smooth content, a 1×1
# bottleneck that adds them into one "HF" and one "LF" channel, and 8 units in conv3 that
# take HF from one side and LF from the other, at boundary orientations 45° apart. Every unit
# of conv3 is shown the stimulus grid; a *candidate* prefers a large ratio over uniform
# texture (contrast) and one orientation over the others (selectivity); its score is their product.

# %%
def constructed_tuning(lesson):
    model = ConstructedHighLow()
    images, params = stimulus_grid(lesson, CONSTRUCTED_SIZE)
    tunings = layer_tunings(model, "relu3", images, params)
    family = high_low_candidates(tunings)
    lesson.save(plot_tuning_heatmaps(tunings, "Constructed net, conv3: response over orientation × frequency ratio"),
                "constructed_tuning")
    planted = dict(zip(model.planted.family, model.planted.orientations_deg))
    lesson.report("constructed_candidates", len(family), "conv3 units that pass the high-low test", bound=8, at_least=8)
    lesson.report("constructed_candidates_are_planted", int({t.unit for t in family} == set(planted)),
                  "1 if the candidates are exactly the 8 planted high-low units", at_least=1)
    error = max(angle_error(t.preferred_deg, planted[t.unit]) for t in family)
    lesson.report("constructed_orientation_error_deg", error, "largest |measured - planted| preferred orientation", bound=3.0)
    lesson.report("constructed_largest_gap_deg", orientation_coverage([t.preferred_deg for t in family]),
                  "largest gap between neighbouring preferred orientations around 360°", bound=50.0)
    lesson.save(plot_family_compass([t.preferred_deg for t in family], [t.peak for t in family],
                                    "Constructed family: preferred boundary orientations",
                                    planted_deg=model.planted.orientations_deg), "constructed_family")
    return model, family


# %% [markdown]
# ## Two factors: one high-frequency, one low-frequency, mirrored
# The *expanded weights* connect conv2's output to each family member through the bottleneck
# (ReLUs treated as identity): for each member, a 7×7 map per early channel. One-sided NMF
# splits them into 2 non-negative mixes of early channels (the channel factors) and, for each
# member, a signed map saying where it uses each mix. We identify the factors by showing the
# early channels gratings of every frequency: one mix prefers fine gratings (HF), the other
# coarse ones (LF). Reflecting a member's HF map across its own boundary gives its LF map.

# %%
def constructed_factors(lesson, model, family):
    analysis = analyse_factors(model, family, "relu2", "conv3", size=CONSTRUCTED_SIZE, seed=lesson.seed)
    factors, hf, lf = analysis.factors, analysis.hf, analysis.lf
    lesson.report("constructed_nmf_explained", analysis.factors.explained,
                  "fraction of the expanded weights' energy 2 factors explain", at_least=0.99)
    lesson.report("constructed_hf_factor_cosine",
                  cosine_similarity(factors.channel[hf], model.planted.hf_factor),
                  "cosine(recovered HF factor, planted HF factor)", at_least=0.95)
    lesson.report("constructed_lf_factor_cosine",
                  cosine_similarity(factors.channel[lf], model.planted.lf_factor),
                  "cosine(recovered LF factor, planted LF factor)", at_least=0.95)
    lesson.report("constructed_hf_frequency_index", analysis.frequency_index[hf].item(),
                  "HF factor: (fine - coarse grating response) / sum", at_least=0.5)
    lesson.report("constructed_lf_frequency_index", analysis.frequency_index[lf].item(),
                  "LF factor: the same index, negative = prefers coarse", bound=-0.5)
    lesson.report("constructed_mirror_similarity_min", analysis.mirror.min().item(),
                  "smallest cosine(LF map, HF map reflected across the boundary) over members", at_least=0.95)
    labels = ["HF 0°", "HF 45°", "HF 90°", "HF 135°", "LF +", "LF −", "col +", "col −"]
    lesson.save(plot_factors(factors.channel, analysis.frequencies, analysis.frequency_responses, hf,
                             "Constructed net: NMF channel factors and their frequency tuning",
                             planted=(model.planted.hf_factor, model.planted.lf_factor), channel_labels=labels),
                "constructed_factors")
    lesson.save(plot_spatial_factors(factors.spatial, [t.preferred_deg for t in family], hf,
                                     "Constructed family: where each member uses HF and LF (mirror images)"),
                "constructed_spatial_factors")


# %% [markdown]
# ## Who uses the family downstream, and does polarity matter?
# A later unit can use high-low detectors in two ways: it can care which side is fine (then
# members 180° apart get different weights) or only that there is a frequency boundary (then
# they get the same weight: it ignores polarity). The *family share* is the fraction of a
# later unit's weight that goes to the family; the *polarity index* is Σ|w(θ) − w(θ+180°)| /
# Σ(|w(θ)| + |w(θ+180°)|), reading w(θ+180°) between members when none sits exactly there:
# 0 ignores polarity, 1 uses only one side. The constructed head has one unit of each kind.

# %%
def constructed_downstream(lesson, model, family):
    weights = downstream_weights(model, "relu3", "head")
    members = [int(t.unit.split(":")[1]) for t in family]
    uses = downstream_use(weights, members, [t.preferred_deg for t in family], "head")
    by_unit = {u.unit: u for u in uses}
    lesson.report("constructed_top_user_is_planted", int(uses[0].unit == model.planted.head_using_family),
                  f"1 if the unit that uses the family most is {model.planted.head_using_family}", at_least=1)
    lesson.report("constructed_head0_family_share", by_unit["head:0"].family_share,
                  "head:0: share of its weight on the family")
    lesson.report("constructed_head0_polarity_index", by_unit["head:0"].polarity_index,
                  "head:0 weighs opposite members alike: ignores polarity", bound=0.05)
    lesson.report("constructed_head1_polarity_index", by_unit["head:1"].polarity_index,
                  "head:1 uses only members whose fine side points up", at_least=0.9)
    lesson.save(plot_downstream(weights[:, members], [t.preferred_deg for t in family],
                                {"head:0 (ignores polarity)": 0, "head:1 (fine side up only)": 1},
                                "Constructed net: weights from family members to the head"), "constructed_downstream")


# %% [markdown]
# ## The trained FocusNet: are there high-low units in conv3?
# FocusNet learned to mark the in-focus pixels of natural-like images, where sharp leaves
# meet blurred background: exactly the place where a high-low detector would help. We run
# the same test on its 24 conv3 units. Nobody planted anything here, so the lesson checks
# only what holds with a wide margin for the shipped weights and reports the rest as it is:
# a few clear high-low units appear (two in the shipped weights; a copy trained for fewer
# epochs had four), far too few to cover the circle evenly.

# %%
def focus_tuning(lesson):
    model, metadata = load_shipped("focus_net")
    lesson.report("focus_test_accuracy", metadata["metrics"]["test_accuracy"], "FocusNet's pixel accuracy (shipped)")
    images, params = stimulus_grid(lesson, FOCUS_SIZE)
    tunings = layer_tunings(model, "relu3", images, params)
    family = high_low_candidates(tunings)
    lesson.report("focus_candidates", len(family), f"conv3 units (of {len(tunings)}) that pass the high-low test",
                  at_least=2)
    lesson.record("focus_candidate_orientations", {t.unit: round(t.preferred_deg, 1) for t in family})
    contrasts = torch.tensor([t.contrast for t in family] or [0.0])
    lesson.report("focus_candidate_median_contrast", contrasts.median().item(),
                  "candidates' (peak at ratio 8 - mean at ratio 1) / peak: near 1 = silent for uniform texture",
                  at_least=0.7)
    best = sorted(tunings, key=lambda t: -t.score)[:10]
    lesson.save(plot_tuning_heatmaps(best, "FocusNet conv3, the 10 highest high-low scores: orientation × ratio"),
                "focus_tuning")
    lesson.report("focus_largest_gap_deg", orientation_coverage([t.preferred_deg for t in family]),
                  "largest gap between neighbouring preferred orientations (45 would be 8 evenly spread)")
    lesson.save(plot_family_compass([t.preferred_deg for t in family], [t.peak for t in family],
                                    "FocusNet conv3: preferred orientations of the candidates"), "focus_family")
    return model, family


# %% [markdown]
# ## FocusNet: the family's two factors and who uses them
# The same one-sided NMF on FocusNet's expanded weights from conv2 (through the max pool,
# read as an average pool, and the bottleneck) into its candidates. Here the two channel
# factors both prefer fine gratings, one more strongly than the other, and each member uses
# them with mirrored spatial maps: it compares "more fine detail" on one side with "less" on
# the other. The head, FocusNet's only later unit, weighs the candidates more than the other
# conv3 units, and with one sign, so it mostly ignores which side is the fine one.

# %%
def focus_factors_and_use(lesson, model, family):
    analysis = analyse_factors(model, family, "relu2", "conv3", size=FOCUS_SIZE, seed=lesson.seed)
    lesson.report("focus_nmf_explained", analysis.factors.explained,
                  "fraction of the expanded weights 2 factors explain", at_least=0.85)
    lesson.report("focus_hf_frequency_index", analysis.frequency_index[analysis.hf].item(), "the finer factor's index")
    lesson.report("focus_lf_frequency_index", analysis.frequency_index[analysis.lf].item(),
                  "the other factor's index (positive too: it also prefers fine gratings, less strongly)")
    lesson.report("focus_mirror_similarity_median", analysis.mirror.median().item(),
                  "median cosine(second map, first map reflected across the boundary)", at_least=0.5)
    lesson.save(plot_factors(analysis.factors.channel, analysis.frequencies, analysis.frequency_responses, analysis.hf,
                             "FocusNet: NMF channel factors of the candidates and their frequency tuning",
                             names=("finer factor", "coarser factor")),
                "focus_factors")
    lesson.save(plot_spatial_factors(analysis.factors.spatial, [t.preferred_deg for t in family], analysis.hf,
                                     "FocusNet candidates: where each uses the two factors",
                                     names=("finer factor", "coarser factor")), "focus_spatial_factors")
    members = [int(t.unit.split(":")[1]) for t in family]
    weights = downstream_weights(model, "relu3", "head")
    use = downstream_use(weights, members, [t.preferred_deg for t in family], "head")[0]
    lesson.report("focus_head_weight_ratio", use.weight_ratio,
                  "head: mean |weight| to a candidate / mean |weight| to another conv3 unit", at_least=1.5)
    lesson.report("focus_head_same_sign", use.same_sign, "fraction of the head's weights to candidates with one sign")
    lesson.report("focus_head_polarity_index", use.polarity_index,
                  "head: 0 = same weight for opposite boundaries, 1 = one side only (opposites interpolated)")
    others = [c for c in range(weights.shape[1]) if c not in members]
    lesson.save(plot_downstream(weights[:, members], [t.preferred_deg for t in family], {"head:0": 0},
                                "FocusNet: weights from the candidates to the head",
                                others_mean_abs=weights[0, others].abs().mean().item()), "focus_downstream")


# %%
def main(argv=None):
    lesson = Lesson.start(__doc__, argv, __file__)
    stimuli(lesson)
    model, family = constructed_tuning(lesson)
    constructed_factors(lesson, model, family)
    constructed_downstream(lesson, model, family)
    focus_factors_and_use(lesson, *focus_tuning(lesson))
    return lesson.finish()


if __name__ == "__main__":
    main()
