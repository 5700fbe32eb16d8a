# %% [markdown]
# # 09 · High-low frequency detectors
# Some units of a vision model fire where fine texture meets smooth content along a boundary of one
# orientation. We build stimuli with a known boundary, measure each unit's tuning over (boundary
# orientation, frequency ratio), split a family of such units into two factors with one-sided NMF,
# and ask who uses the family downstream. Everything is tried first on a network whose answer we
# planted, then on the trained FocusNet, where we also ask whether its high-low units are really
# boundary detectors, and what a feature visualisation of them looks like.

# %% tags=["parameters"]
fast = False  # True: a coarser stimulus grid, fewer images and optimisation steps (what `--fast` and CI use)

# %%
try:  # before `pip install -e .` the course cannot be imported: say so in one line, not a traceback
    import course  # noqa: F401
except ModuleNotFoundError as missing:
    raise SystemExit(f"{missing}: install the course first, from its folder: "
                     "pip install -r requirements.txt && pip install -e .") from None
import torch

from course.analysis.circuit_figures import image_grid
from course.analysis.feature_vis import visualize
from course.analysis.similarity import cosine_similarity
from course.chapters.high_low_frequency import (analyse_factors, angle_error, boundary_probe, downstream_use,
                                                downstream_weights, focus_boundary_share, high_low_candidates,
                                                high_low_stimuli, layer_tunings, orientation_coverage,
                                                side_texture_ratio, silent_units, stimulus_grid)
from course.data.natural_images import natural_images
from course.figures.high_low_frequency import (NEUTRAL_COLOURS, plot_dataset_examples, plot_downstream, plot_factors,
                                               plot_family_compass, plot_feature_visualisations, plot_spatial_factors,
                                               plot_tuning_heatmaps)
from course.models import load_shipped
from course.models.constructed_high_low import ConstructedHighLow
from course.runtime.lesson import Lesson

lesson = Lesson.start("09_high_low_frequency", fast=fast)
ARTICLE = "Distill, 'High-Low Frequency Detectors'"
CONSTRUCTED_SIZE = 33  # odd: the centre unit sits exactly on the stimuli's boundary
FOCUS_SIZE = 30  # after FocusNet's 2×2 pool, the centre unit of a 30-pixel input sits on the boundary too

# %% [markdown]
# ## Stimuli: fine texture on one side, coarse texture on the other
# A high-low stimulus has a straight boundary through the centre. On the side its orientation
# points to there is a fine plaid (0.35 cycles per pixel); on the other side the same plaid is
# stretched by the frequency ratio. Ratio 1 has no boundary at all, only uniform texture, and
# orientations 180° apart swap the two sides. Both sides have the same mean brightness and
# contrast, so only the *frequency* changes across the boundary.

# %%
picks = [(0.0, 1), (0.0, 4), (90.0, 4), (225.0, 8)]
pick_images, pick_params = high_low_stimuli([o for o, _ in picks], (1, 2, 4, 8), (0.0,))
keep = [int(((pick_params["orientation"] == o) & (pick_params["ratio"] == r)).nonzero()[0]) for o, r in picks]
lesson.show(image_grid(pick_images[keep], [f"{o:.0f}°, ratio {r}" for o, r in picks], ncols=4,
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
constructed = ConstructedHighLow()
images, params = stimulus_grid(lesson.fast, CONSTRUCTED_SIZE)
constructed_tunings = layer_tunings(constructed, "relu3", images, params)
constructed_family = high_low_candidates(constructed_tunings)
lesson.show(plot_tuning_heatmaps(constructed_tunings,
                                 "Constructed net, conv3: response over orientation × frequency ratio"),
            "constructed_tuning")
planted = dict(zip(constructed.planted.family, constructed.planted.orientations_deg))
lesson.report("constructed_candidates", len(constructed_family), "conv3 units that pass the high-low test",
              bound=8, at_least=8, kind="tool")
lesson.report("constructed_candidates_are_planted", int({t.unit for t in constructed_family} == set(planted)),
              "1 if the candidates are exactly the 8 planted high-low units", at_least=1, kind="tool")
lesson.report("constructed_orientation_error_deg",
              max(angle_error(t.preferred_deg, planted[t.unit]) for t in constructed_family),
              "largest |measured - planted| preferred orientation", bound=3.0, kind="tool")
lesson.report("constructed_largest_gap_deg", orientation_coverage([t.preferred_deg for t in constructed_family]),
              "largest gap between neighbouring preferred orientations around 360°", bound=50.0, kind="tool")
lesson.show(plot_family_compass([t.preferred_deg for t in constructed_family], [t.peak for t in constructed_family],
                                "Constructed family: preferred boundary orientations",
                                planted_deg=constructed.planted.orientations_deg), "constructed_family")

# %% [markdown]
# ## Two factors: one high-frequency, one low-frequency, mirrored
# The *expanded weights* connect conv2's output to each family member through the bottleneck
# (ReLUs treated as identity): for each member, a 7×7 map per early channel. One-sided NMF
# splits them into 2 non-negative mixes of early channels (the channel factors) and, for each
# member, a signed map saying where it uses each mix. We name the factors only after showing
# the early channels gratings of every frequency: one mix prefers fine gratings (HF), the other
# coarse ones (LF). Reflecting a member's HF map across its own boundary gives its LF map.

# %%
constructed_analysis = analyse_factors(constructed, constructed_family, "relu2", "conv3", size=CONSTRUCTED_SIZE,
                                       seed=lesson.seed)
hf, lf = constructed_analysis.hf, constructed_analysis.lf
channel_factors = constructed_analysis.factors.channel
lesson.report("constructed_nmf_explained", constructed_analysis.factors.explained,
              "fraction of the expanded weights' energy 2 factors explain", at_least=0.99, kind="tool")
lesson.report("constructed_hf_factor_cosine", cosine_similarity(channel_factors[hf], constructed.planted.hf_factor),
              "cosine(recovered HF factor, planted HF factor)", at_least=0.95, kind="tool")
lesson.report("constructed_lf_factor_cosine", cosine_similarity(channel_factors[lf], constructed.planted.lf_factor),
              "cosine(recovered LF factor, planted LF factor)", at_least=0.95, kind="tool")
lesson.report("constructed_hf_frequency_index", constructed_analysis.frequency_index[hf].item(),
              "HF factor: (fine - coarse grating response) / sum", at_least=0.5, kind="tool")
lesson.report("constructed_lf_frequency_index", constructed_analysis.frequency_index[lf].item(),
              "LF factor: the same index, negative = prefers coarse", bound=-0.5, kind="tool")
lesson.report("constructed_mirror_similarity_min", constructed_analysis.mirror.min().item(),
              "smallest cosine(LF map, HF map reflected across the boundary) over members", at_least=0.95, kind="tool")
lesson.show(plot_factors(channel_factors, constructed_analysis.frequencies, constructed_analysis.frequency_responses,
                         hf, "Constructed net: NMF channel factors and their frequency tuning",
                         planted=(constructed.planted.hf_factor, constructed.planted.lf_factor),
                         channel_labels=["HF 0°", "HF 45°", "HF 90°", "HF 135°", "LF +", "LF −", "col +", "col −"],
                         names=constructed_analysis.names()), "constructed_factors")
lesson.show(plot_spatial_factors(constructed_analysis.factors.spatial, [t.preferred_deg for t in constructed_family],
                                 hf, "Constructed family: where each member uses HF and LF (mirror images)",
                                 names=constructed_analysis.names()), "constructed_spatial_factors")

# %% [markdown]
# ## Who uses the family downstream, and does polarity matter?
# A later unit can use high-low detectors in two ways: it can care which side is fine (then
# members 180° apart get different weights) or only that there is a frequency boundary (then
# they get the same weight: it ignores polarity). The *family share* is the fraction of a
# later unit's weight that goes to the family; the *polarity index* is Σ|w(θ) − w(θ+180°)| /
# Σ(|w(θ)| + |w(θ+180°)|), reading w(θ+180°) between members when none sits exactly there:
# 0 ignores polarity, 1 uses only one side. The constructed head has one unit of each kind.

# %%
constructed_weights = downstream_weights(constructed, "relu3", "head")
constructed_members = [int(t.unit.split(":")[1]) for t in constructed_family]
constructed_uses = downstream_use(constructed_weights, constructed_members,
                                  [t.preferred_deg for t in constructed_family], "head")
by_unit = {u.unit: u for u in constructed_uses}
lesson.report("constructed_top_user_is_planted", int(constructed_uses[0].unit == constructed.planted.head_using_family),
              f"1 if the unit that uses the family most is {constructed.planted.head_using_family}", at_least=1,
              kind="tool")
lesson.report("constructed_head0_family_share", by_unit["head:0"].family_share, "head:0: share of its weight on the family")
lesson.report("constructed_head0_polarity_index", by_unit["head:0"].polarity_index,
              "head:0 weighs opposite members alike: ignores polarity", bound=0.05, kind="tool")
lesson.report("constructed_head1_polarity_index", by_unit["head:1"].polarity_index,
              "head:1 uses only members whose fine side points up", at_least=0.9, kind="tool")
lesson.show(plot_downstream(constructed_weights[:, constructed_members], [t.preferred_deg for t in constructed_family],
                            {"head:0 (ignores polarity)": 0, "head:1 (fine side up only)": 1},
                            "Constructed net: weights from family members to the head"), "constructed_downstream")

# %% [markdown]
# ## The trained FocusNet: are there high-low units in conv3?
# FocusNet learned to mark the in-focus pixels of natural-like images, where sharp leaves
# meet blurred background: exactly the place where a high-low detector would help. It gets
# about 70% of pixels right, against 59% for always answering the more common label. We run
# the same test on its 24 conv3 units. More than half of them never open on any stimulus, and
# most of the rest answer uniform texture as strongly as a frequency step; the figure shows
# only the units whose high-low score is above zero.

# %%
focus, focus_metadata = load_shipped("focus_net")
lesson.report("focus_test_accuracy", focus_metadata["metrics"]["test_accuracy"], "FocusNet's pixel accuracy (shipped)")
lesson.report("focus_majority_baseline", focus_metadata["metrics"]["test_majority_baseline"],
              "pixel accuracy of always answering the more common label")
images, params = stimulus_grid(lesson.fast, FOCUS_SIZE)
focus_tunings = layer_tunings(focus, "relu3", images, params)
focus_family = high_low_candidates(focus_tunings)
silent = silent_units(focus_tunings)
lesson.report("focus_silent_units", len(silent), f"conv3 units (of {len(focus_tunings)}) that are 0 for every stimulus")
lesson.record("focus_silent_unit_names", silent)
scored = sorted((t for t in focus_tunings if t.score > 0), key=lambda t: -t.score)
lesson.report("focus_nonzero_score_units", len(scored), "conv3 units with a high-low score above 0")
lesson.report("focus_candidates", len(focus_family), f"conv3 units (of {len(focus_tunings)}) that pass the high-low test",
              at_least=2)
lesson.record("focus_candidate_orientations", {t.unit: round(t.preferred_deg, 1) for t in focus_family})
lesson.report("focus_candidate_median_contrast", torch.tensor([t.contrast for t in focus_family] or [0.0]).median(),
              "candidates' (peak at ratio 8 - mean at ratio 1) / peak: near 1 = silent for uniform texture",
              at_least=0.7)
lesson.show(plot_tuning_heatmaps(scored, f"FocusNet conv3: the {len(scored)} units with a high-low score above 0\n"
                                         f"({len(silent)} of {len(focus_tunings)} are silent on every stimulus)",
                                 ncols=max(len(scored), 2)), "focus_tuning")
lesson.report("focus_largest_gap_deg", orientation_coverage([t.preferred_deg for t in focus_family]),
              "largest gap between neighbouring preferred orientations (45 would be 8 evenly spread)")
lesson.show(plot_family_compass([t.preferred_deg for t in focus_family], [t.peak for t in focus_family],
                                "FocusNet conv3: preferred orientations of the candidates"), "focus_family")

# %% [markdown]
# ## Frequency step or object boundary?
# A high-low unit could be an edge detector in disguise: leaves in our images have edges, and
# texture changes happen there. Two probes pull the causes apart at each candidate's preferred
# orientation: a frequency step with no edge (the stimulus above, same mean colour on both
# sides) and a plain colour edge with no texture (three colour pairs, both polarities). Then the
# dataset examples: the windows of generated images where each candidate fires most, and how
# often they straddle the edge of a sharp leaf over blurred background, against all windows. In
# these images every change of texture sits on some leaf's edge, so the data alone cannot show a
# unit firing without an object boundary: the probes can, and they show that both happen here.

# %%
probes = [boundary_probe(focus, t.unit, t.preferred_deg, FOCUS_SIZE) for t in focus_family]
for probe in probes:
    print(f"  {probe.unit} at {probe.orientation_deg:.0f}°: frequency step {probe.frequency_step:.2f}, "
          f"uniform texture {probe.uniform_texture:.2f}, colour edge alone {probe.edge_only:.2f}")
lesson.record("focus_probes", {p.unit: {"frequency_step": p.frequency_step, "uniform_texture": p.uniform_texture,
                                        "edge_only": p.edge_only} for p in probes})
lesson.report("focus_step_over_uniform_min", min(p.step_over_uniform for p in probes),
              "smallest (frequency step without an edge) / (uniform texture) over candidates", at_least=2.0)
lesson.report("focus_edge_over_step_min", min(p.edge_over_step for p in probes),
              "smallest (colour edge alone) / (frequency step) over candidates: 0 = edges alone do nothing")
lesson.report("focus_edge_over_step_max", max(p.edge_over_step for p in probes),
              "largest of the same ratio: near 1 = an edge alone drives the unit as much as a frequency step")
data_images, in_focus = natural_images(400 if lesson.fast else 2000, seed=100, return_focus=True)
examples = {t.unit: focus_boundary_share(focus, t.unit, data_images, in_focus, k=8 if lesson.fast else 16, crop=12)
            for t in focus_family}
lesson.report("focus_top_windows_at_focus_edge", min(e[3] for e in examples.values()),
              "smallest share (over candidates) of top windows that hold sharp and blurred pixels")
lesson.report("focus_all_windows_at_focus_edge", next(iter(examples.values()))[4],
              "the same share over every 12×12 window of the images: the chance level")
lesson.show(plot_dataset_examples({u: e[0][:8] for u, e in examples.items()}, {u: e[1][:8] for u, e in examples.items()},
                                  {u: e[2][:8] for u, e in examples.items()},
                                  "FocusNet candidates: the 12×12 windows of generated images where they fire most"),
            "focus_dataset_examples")

# %% [markdown]
# ## What does a candidate want to see? Feature visualisation
# Feature visualisation synthesises an image that drives one unit hard, starting from faint
# noise (lesson 08 introduced the tool). We optimise each candidate's input to its ReLU (conv3, not
# relu3: a ReLU that is 0 on the grey start gives no gradient). If it is a high-low detector,
# the image should hold fine detail on the side of its preferred orientation and smooth colour
# on the other, inside its receptive field (about 13 pixels across). We measure that as the
# ratio of fine-detail energy on the two sides.

# %%
visualisations = torch.cat([visualize(focus, t.unit.replace("relu3", "conv3"), size=FOCUS_SIZE,
                                      steps=48 if lesson.fast else 256, seed=lesson.seed)[0] for t in focus_family])
side_ratios = [float(side_texture_ratio(image[None], t.preferred_deg, radius=6.5))
               for image, t in zip(visualisations, focus_family)]
lesson.record("focus_feature_vis_side_ratios", {t.unit: r for t, r in zip(focus_family, side_ratios)})
lesson.report("focus_feature_vis_side_ratio_min", min(side_ratios),
              "smallest (fine-detail energy on the preferred side / on the other side) over candidates", at_least=1.5)
lesson.show(plot_feature_visualisations(visualisations, [t.unit for t in focus_family],
                                        [t.preferred_deg for t in focus_family], side_ratios, 6.5,
                                        "FocusNet candidates: feature visualisation\n"
                                        "(arrow: preferred side; dashed circle: receptive field)"), "focus_feature_vis")

# %% [markdown]
# ## FocusNet: the candidates' two factors
# The same one-sided NMF on FocusNet's expanded weights from conv2 (through the max pool,
# read as an average pool, and the bottleneck) into its candidates. Only if one factor prefers
# fine gratings and the other coarse ones (frequency indices of opposite signs) do we call
# them HF and LF. Here both prefer fine gratings, so they are only "factor 1" and "factor 2",
# and they are nearly the same mix of early channels. Each candidate uses them with roughly
# mirrored spatial maps: it weighs "fine detail here" against "fine detail there", which also
# finds a frequency step, without any unit that stands for smooth content.

# %%
focus_analysis = analyse_factors(focus, focus_family, "relu2", "conv3", size=FOCUS_SIZE, seed=lesson.seed)
first, second = focus_analysis.hf, focus_analysis.lf  # the factor with the larger frequency index first
names = focus_analysis.names()
colours = None if focus_analysis.high_and_low else NEUTRAL_COLOURS  # red/blue only for a real HF/LF pair
lesson.report("focus_nmf_explained", focus_analysis.factors.explained,
              "fraction of the expanded weights 2 factors explain", at_least=0.85)
lesson.report("focus_factor1_frequency_index", focus_analysis.frequency_index[first].item(),
              "the factor with the larger index: (fine - coarse grating response) / sum")
lesson.report("focus_factor2_frequency_index", focus_analysis.frequency_index[second].item(),
              "the other factor's index (an LF factor would be negative)")
lesson.report("focus_factors_high_and_low", int(focus_analysis.high_and_low),
              "1 if the indices have opposite signs (an HF and an LF factor), else 0")
lesson.report("focus_factor_cosine", cosine_similarity(focus_analysis.factors.channel[first],
                                                     focus_analysis.factors.channel[second]),
              "cosine between the two channel factors: near 1 = nearly the same mix of early channels")
lesson.report("focus_mirror_similarity_median", focus_analysis.mirror.median().item(),
              "median cosine(factor 2 map, factor 1 map reflected across the boundary)", at_least=0.5)
lesson.show(plot_factors(focus_analysis.factors.channel, focus_analysis.frequencies,
                         focus_analysis.frequency_responses, first,
                         "FocusNet: NMF channel factors of the candidates and their frequency tuning",
                         names=names, colours=colours), "focus_factors")
lesson.show(plot_spatial_factors(focus_analysis.factors.spatial, [t.preferred_deg for t in focus_family], first,
                                 "FocusNet candidates: where each uses the two factors", names=names,
                                 colours=colours), "focus_spatial_factors")

# %% [markdown]
# ## FocusNet: who uses the candidates?
# The head, FocusNet's only later unit, weighs the candidates more than the other conv3 units.
# Whether it ignores polarity cannot be asked of this network: the polarity index compares
# members 180° apart, and FocusNet's two candidates are not such a pair (they are about 135°
# apart, 45° short of opposite), so reading w(θ+180°) between them would compare two different
# boundaries, not two polarities of one. The lesson therefore reports no polarity index for FocusNet.

# %%
focus_members = [int(t.unit.split(":")[1]) for t in focus_family]
focus_weights = downstream_weights(focus, "relu3", "head")
focus_use = downstream_use(focus_weights, focus_members, [t.preferred_deg for t in focus_family], "head")[0]
lesson.report("focus_head_weight_ratio", focus_use.weight_ratio,
              "head: mean |weight| to a candidate / mean |weight| to another conv3 unit", at_least=1.5)
lesson.report("focus_head_same_sign", focus_use.same_sign, "fraction of the head's weights to candidates with one sign")
offsets = [angle_error(a.preferred_deg + 180, b.preferred_deg) for a in focus_family for b in focus_family if a is not b]
lesson.report("focus_closest_to_opposite_deg", min(offsets, default=180.0),
              "how far the most nearly opposite pair of candidates is from 180° apart")
focus_others = [c for c in range(focus_weights.shape[1]) if c not in focus_members]
lesson.show(plot_downstream(focus_weights[:, focus_members], [t.preferred_deg for t in focus_family], {"head:0": 0},
                            "FocusNet: weights from the candidates to the head",
                            others_mean_abs=focus_weights[0, focus_others].abs().mean().item()), "focus_downstream")

# %% [markdown]
# ## What we found
# The constructed network shows every step working when the answer is planted. The trained
# FocusNet (one training seed) grows two clear high-low units: a frequency step with no edge
# drives them several times harder than uniform texture, their feature visualisations put fine
# detail on the preferred side, and the head weighs them heavily. But a plain colour edge drives
# them about as much, so here they are edge detectors too; their top windows in the data lie on
# a focus boundary no more often than any window does; they form no family around the circle;
# and NMF finds no HF and LF factor, only two near-copies of one fine-texture mix. The ledger
# below says, claim by claim, what the numbers above support.

# %%
family_target = (len(focus_family) >= 4 and orientation_coverage([t.preferred_deg for t in focus_family]) <= 90
                 and focus_analysis.high_and_low)
lesson.claim("hl_units_exist", source=f"{ARTICLE}, introduction and §tuning curves",
             claim="some units fire for fine texture on one side of a boundary and smooth content on the other, "
                   "at one boundary orientation",
             status="partial", evidence=["focus_candidates", "focus_candidate_median_contrast", "focus_silent_units"],
             note="2 clear units of 24 (13 silent) in the one trained FocusNet seed; one seed cannot show it holds "
                  "on most seeds")
lesson.claim("hl_family_covers_circle", source=f"{ARTICLE}, §feature visualisation and §tuning curves",
             claim="the detectors form a family whose preferred orientations together cover all 360°",
             status="partial" if family_target else "not reproduced",
             evidence=["focus_candidates", "focus_largest_gap_deg", "constructed_largest_gap_deg"],
             note="target: ≥ 4 trained units with gaps ≤ 90°; FocusNet has 2 units, largest gap "
                  f"{orientation_coverage([t.preferred_deg for t in focus_family]):.0f}°; "
                  "the constructed family (8 at 45°) only shows the tools work")
lesson.claim("hl_hf_lf_factors", source=f"{ARTICLE}, §implementation (one-sided NMF of expanded weights)",
             claim="the family's expanded weights factor into one high-frequency and one low-frequency factor",
             status="partial" if focus_analysis.high_and_low else "not reproduced",
             evidence=["focus_factor1_frequency_index", "focus_factor2_frequency_index", "focus_factors_high_and_low",
                       "constructed_hf_factor_cosine", "constructed_lf_factor_cosine"],
             note="FocusNet: both factors prefer fine gratings; the constructed net recovers its planted HF/LF "
                  "factors (constructed only)")
lesson.claim("hl_mirrored_layout", source=f"{ARTICLE}, §implementation (spatial factors)",
             claim="each detector places the two factors in mirror image: one excites where the other inhibits",
             status="partial", evidence=["focus_mirror_similarity_median", "constructed_mirror_similarity_min"],
             note="FocusNet's two factors are mirrored (median cosine "
                  f"{focus_analysis.mirror.median().item():.2f}) but are not an HF and an LF factor")
lesson.claim("hl_fire_without_boundary", source=f"{ARTICLE}, §dataset examples",
             claim="they also fire where the frequency changes without an object boundary",
             status="partial", evidence=["focus_step_over_uniform_min", "focus_top_windows_at_focus_edge",
                                         "focus_all_windows_at_focus_edge"],
             note="shown with a synthetic probe (a frequency step with no edge) on one trained seed; the generated "
                  "data puts every texture change on a leaf edge, so its dataset examples cannot show it")
lesson.claim("hl_not_boundary_detectors", source=f"{ARTICLE}, §dataset examples",
             claim="high-low detectors are something other than boundary (edge) detectors",
             status="partial" if max(p.edge_over_step for p in probes) <= 0.3 else "not reproduced",
             evidence=["focus_edge_over_step_min", "focus_edge_over_step_max"],
             note="a plain colour edge with no texture drives FocusNet's candidates to "
                  f"{min(p.edge_over_step for p in probes):.2f}-{max(p.edge_over_step for p in probes):.2f} of their "
                  "response to a frequency step: they are edge detectors too")
lesson.claim("hl_feature_vis", source=f"{ARTICLE}, §feature visualisation",
             claim="a feature visualisation of a detector shows fine texture on one side and smooth content on the "
                   "other",
             status="partial", evidence=["focus_feature_vis_side_ratio_min"],
             note="fine-detail energy ratio between the sides, one trained seed")
lesson.claim("hl_used_downstream", source=f"{ARTICLE}, §usage",
             claim="later units use the detectors heavily (mostly boundary detectors)",
             status="partial", evidence=["focus_head_weight_ratio"],
             note="FocusNet's only later unit (its in-focus head) weighs them 3-4× the other conv3 units; one seed, "
                  "and the head is not a boundary detector")
lesson.claim("hl_polarity_ignored", source=f"{ARTICLE}, §usage",
             claim="later units mostly ignore polarity: members 180° apart get similar weights",
             status="constructed only", evidence=["constructed_head0_polarity_index", "focus_closest_to_opposite_deg"],
             note="FocusNet has no pair of candidates 180° apart, so it cannot be tested there")
lesson.record("trained_family_target_met", int(family_target))

# %% [markdown]
# ## References
# - Distill, *High-Low Frequency Detectors* (Schubert, Voss, Cammarata, Goh, Olah, 2021): the sections on
#   feature visualisation, dataset examples and tuning curves (what the units respond to), on implementation
#   (expanded weights, one-sided NMF into an HF and an LF factor, mirrored spatial factors), on usage
#   (boundary detectors downstream, polarity ignored) and on universality (not measured here: one model).
# - Olah, Cammarata, Schubert, Goh, Petrov, Carter (2020), *Zoom In: An Introduction to Circuits*, Distill.
# - Olah, Mordvintsev, Schubert (2017), *Feature Visualization*, Distill.
# - Lee, Seung (1999), *Learning the parts of objects by non-negative matrix factorization*, Nature.
# - Szegedy et al. (2015), *Going Deeper with Convolutions* (InceptionV1, where the article found the detectors).

# %%
summary = lesson.finish()
