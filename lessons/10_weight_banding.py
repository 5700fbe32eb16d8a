# %% [markdown]
# # 10 · Weight banding
# In ImageNet networks that end with global average pooling, the Circuits article on weight banding
# found the last conv layer's kernels made of horizontal stripes; training on images turned by 90°
# turned the stripes, and removing the pooling removed them. We repeat the experiment at laptop
# scale: a small network of conv groups and L2 pooling, trained on generated scenes where height
# matters, in the article's variants plus one control, three seeds each, with a number (the banding
# score) that says how striped a layer's kernels are, measured one layer at a time.

# %% tags=["parameters"]
fast = False  # True: skip retraining one seed of every variant (the shipped checkpoints are used either way)

# %%
try:  # before `pip install -e .` the course cannot be imported: say so in one line, not a traceback
    import course  # noqa: F401
except ModuleNotFoundError as missing:
    raise SystemExit(f"{missing}: install the course first, from its folder: "
                     "pip install -r requirements.txt && pip install -e .") from None
from course.analysis.banding import banding_score, random_baseline, spatial_part, synthetic_weights
from course.analysis.circuit_figures import image_grid
from course.analysis.weight_pictures import weights_to_rgb
from course.chapters.weight_banding import (banding_summary_table, banding_tables, format_banding_table, load_variants,
                                            mean_and_spread, retrain_and_compare, seed_counts, untrained_spread)
from course.data.vertical_scenes import CLASSES, vertical_scenes
from course.figures.weight_banding import banding_scores_figure, weight_pictures_figure
from course.models import TOLERANCE
from course.models.banding_net import DATA, GROUPS, SEEDS, TRAINING, VARIANTS
from course.runtime.lesson import Lesson
from course.runtime.train import evaluate

lesson = Lesson.start("10_weight_banding", fast=fast)
ARTICLE = "Distill, 'Weight Banding'"
LAYERS = ("conv3a", "conv3b")  # the layer before the last, and the last conv layer: scored one at a time
BANDS = 0.05  # a layer "bands" when its score is at least this far from 0 (fixed before training; see below)

# %% [markdown]
# ## Scenes where height carries the class
# In a photograph the sky is above and the ground below; what is high in the frame tends to be
# a different kind of thing from what is low. Our generated scenes keep that: each shows sky,
# ground, a horizon at a random height and one object, and the class is the object's shape
# (disc or hollow square) *and* whether it sits high or low in the frame. Its column is random,
# so horizontal position carries nothing.

# %%
scene_images, scene_labels = vertical_scenes(16, seed=lesson.seed)
lesson.show(image_grid(scene_images, [CLASSES[int(label)] for label in scene_labels],
                       title="Vertical scenes: the class is the object's shape AND its height"), "scenes")
lesson.report("classes", len(CLASSES), "shape (disc, square) x height (high, low)")

# %% [markdown]
# ## A number for banding, and its noise level
# Take one kernel, remove its mean, and ask how much of what is left is explained by its row
# means (constant along each row: horizontal stripes) and how much by its column means
# (vertical stripes). The banding score is the first fraction minus the second, averaged over
# the layer's units: +1 for pure horizontal stripes, −1 for vertical ones, about 0 for random
# weights. A freshly initialised layer of 24 units still scores a little off 0 by chance; we
# measure how much, and call a layer banded only past ±0.05, about three times that spread.

# %%
for kind, expected in (("horizontal", 1.0), ("vertical", -1.0)):
    score = banding_score(synthetic_weights(kind, seed=lesson.seed))["banding"]
    lesson.report(f"synthetic_{kind}_error", abs(score - expected), f"|score - ({expected:+g})| for {kind} stripes",
                  bound=1e-9, kind="tool")
random_score = banding_score(synthetic_weights("random", c_out=400, seed=lesson.seed))
lesson.report("synthetic_random_banding", abs(random_score["banding"]), "|score| of random 3x3 weights", bound=0.03,
              kind="tool")
lesson.report("synthetic_random_horizontal", random_score["horizontal"],
              f"row-mean fraction of random weights (theory 1/(k+1) = {random_baseline(3):.2f})")
spread = {layer: untrained_spread(layer) for layer in LAYERS}
for layer in LAYERS:
    lesson.report(f"{layer}_untrained_spread", spread[layer],
                  f"{layer}: standard deviation of the score over 100 untrained initialisations")
lesson.report("bands_threshold_in_spreads", BANDS / max(spread.values()),
              "the threshold 0.05 in units of the larger untrained spread", at_least=2.5, kind="tool")

# %% [markdown]
# ## Five variants, three seeds each
# The baseline ends with global average pooling: each channel becomes one number, so the
# network can tell height only from how zero padding changes the maps near the top and bottom.
# Each variant changes one thing: scenes turned by 90° (`rotated`), no pooling so the
# classifier sees every position (`flatten`), averaging along x only (`avg_x`), and a control
# the article did not run, the same images labelled by shape alone (`shape_only`). Every
# variant is trained from seeds 0, 1, 2; the checkpoints ship with the course.

# %%
models = load_variants()
accuracy = {}
for variant, (_, rotated, task) in VARIANTS.items():
    test = vertical_scenes(500, seed=1000 + lesson.seed, rotated=rotated, task=task)  # scenes none trained on
    accuracy[variant] = [evaluate(model, test)[1] for model, _ in models[variant]]
    lesson.report(f"{variant}_worst_accuracy", min(accuracy[variant]),
                  f"{variant}: lowest test accuracy over seeds {list(SEEDS)}", at_least=0.85)
lesson.record("accuracy", accuracy)

# %% [markdown]
# ## Banding, layer by layer
# We score the last conv layer (conv3b) and the one before it (conv3a) separately, as the
# article does: one of its findings is a band that leaves the last layer and shows up in the one
# before, which an average over the two would hide. For each variant and layer: the score of
# every seed, and how many seeds pass ±0.05. A claim counts only when it holds on most seeds.

# %%
tables = banding_tables(models, LAYERS)
lesson.record("banding_table", tables)  # {layer: {variant: [{horizontal, vertical, banding} per seed]}}
banding = {layer: {variant: [s["banding"] for s in scores] for variant, scores in table.items()}
           for layer, table in tables.items()}
lesson.show(banding_scores_figure({f"the layer before the last ({LAYERS[0]})": banding[LAYERS[0]],
                                   f"the last conv layer ({LAYERS[1]})": banding[LAYERS[1]]}, threshold=BANDS),
            "banding_scores")
for layer in LAYERS:
    for variant, values in banding[layer].items():
        mean, sd = mean_and_spread(values)
        lesson.report(f"{layer}_{variant}_mean_banding", mean, f"{layer}, {variant}: mean ± sd {mean:+.3f} ± {sd:.3f}"
                      " over seeds " + " ".join(f"{v:+.3f}" for v in values))
counts = {layer: {variant: seed_counts(values, BANDS) for variant, values in by_variant.items()}
          for layer, by_variant in banding.items()}
lesson.record("seed_counts", counts)
a, b = LAYERS
lesson.report(f"{b}_baseline_seeds_horizontal", counts[b]["baseline"]["horizontal"],
              f"{b}, baseline: seeds that band horizontally", at_least=2)
lesson.report(f"{a}_baseline_seeds_horizontal", counts[a]["baseline"]["horizontal"],
              f"{a}, baseline: seeds that band horizontally", at_least=2)
lesson.report(f"{b}_rotated_seeds_vertical", counts[b]["rotated"]["vertical"],
              f"{b}, rotated data: seeds that band vertically", at_least=2)
lesson.report(f"{a}_rotated_seeds_vertical", counts[a]["rotated"]["vertical"],
              f"{a}, rotated data: seeds that band vertically", at_least=2)
lesson.report(f"{b}_flatten_seeds_unbanded", counts[b]["flatten"]["none"],
              f"{b}, flatten: seeds within ±{BANDS} (every seed is still positive)")
lesson.report(f"{b}_baseline_minus_flatten_mean", mean_and_spread(banding[b]["baseline"])[0]
              - mean_and_spread(banding[b]["flatten"])[0], f"{b}: baseline mean minus flatten mean", at_least=0.03)
lesson.report(f"{a}_flatten_seeds_unbanded", counts[a]["flatten"]["none"], f"{a}, flatten: seeds within ±{BANDS}",
              at_least=2)
lesson.report(f"{b}_avg_x_seeds_horizontal", counts[b]["avg_x"]["horizontal"],
              f"{b}, avg_x: seeds that band horizontally (the article: none)", at_least=2)
lesson.report(f"{a}_avg_x_seeds_horizontal", counts[a]["avg_x"]["horizontal"],
              f"{a}, avg_x: seeds that band horizontally (the article: bands here)")
lesson.report("avg_x_last_minus_before_min", min(y - x for x, y in zip(banding[a]["avg_x"], banding[b]["avg_x"])),
              f"avg_x: smallest {b} - {a} over seeds (> 0: the bands stay in the last layer)", at_least=0.1)
lesson.report(f"{a}_shape_only_seeds_unbanded", counts[a]["shape_only"]["none"],
              f"{a}, height irrelevant (shape_only): seeds within ±{BANDS}", at_least=2)
lesson.report(f"{b}_shape_only_seeds_unbanded", counts[b]["shape_only"]["none"],
              f"{b}, height irrelevant (shape_only): seeds within ±{BANDS}")
lesson.report(f"{a}_baseline_minus_shape_only", min(banding[a]["baseline"]) - max(banding[a]["shape_only"]),
              f"{a}: weakest baseline seed minus strongest shape_only seed", at_least=0.05)
lesson.report(f"{b}_baseline_minus_shape_only_mean", mean_and_spread(banding[b]["baseline"])[0]
              - mean_and_spread(banding[b]["shape_only"])[0], f"{b}: baseline mean minus shape_only mean")
conv2b = [banding_score(model.conv2b.weight)["banding"] for model, _ in models["baseline"]]
lesson.report("conv2b_baseline_seeds_horizontal", seed_counts(conv2b, BANDS)["horizontal"],
              "conv2b (two layers before the last), baseline: seeds that band horizontally; scores "
              + " ".join(f"{v:+.3f}" for v in conv2b))

# %% [markdown]
# ## What the bands look like, and why you cannot see them here
# To see a kernel, its input channels are folded into three groups by one-sided NMF and shown
# as red, green and blue (grey means zero), after removing each channel's mean over the kernel
# as the score does. We show the 10 units of seed 0 with the most spatial variation, under a
# row of planted stripes for comparison. In the article's 7×7 kernels the bands jump out. In our
# 3×3 kernels a score of +0.1 means the row means explain about 0.4 of the spatial variance and
# the column means about 0.3, where random weights give a quarter each: no eye can tell that
# from noise, and indeed the pictures below show no bands. Only the numbers do.

# %%
pictures = {"planted stripes": weights_to_rgb(spatial_part(synthetic_weights("horizontal", c_out=10, c_in=24,
                                                                             seed=lesson.seed)), iters=150)[0]}
for variant in VARIANTS:
    weights = spatial_part(getattr(models[variant][0][0], b).weight)
    strongest = weights.pow(2).sum(dim=(1, 2, 3)).argsort(descending=True)[:10]
    pictures[variant] = weights_to_rgb(weights[strongest], iters=150)[0]
lesson.show(weight_pictures_figure(pictures, {"planted stripes": 1.0, **{v: banding[b][v][0] for v in VARIANTS}}, b),
            "weight_pictures")
lesson.report(f"{b}_baseline_row_fraction", mean_and_spread([s["horizontal"] for s in tables[b]["baseline"]])[0],
              f"{b}, baseline: share of spatial variance its row means explain (random 3x3 weights: "
              f"{random_baseline(3):.2f}, pure stripes: 1)")

# %% [markdown]
# ## Full run: retrain one seed of each variant
# Are the shipped checkpoints really what the recipes make? The full lesson retrains seed 0 of
# every variant from scratch (about half a minute each on one core) and compares test accuracy and
# each layer's banding with the shipped model (on one CPU thread the same run repeats exactly;
# elsewhere it may differ slightly). `--fast` skips this cell's training.

# %%
if not lesson.fast:
    for variant, result in retrain_and_compare(LAYERS, seed=0).items():
        lesson.report(f"{variant}_retrained_accuracy_difference", result["accuracy_difference"],
                      f"{variant}: |retrained - shipped| test accuracy", bound=TOLERANCE, kind="tool")
        for layer in LAYERS:
            lesson.report(f"{variant}_{layer}_retrained_banding", result["banding"][layer],
                          f"{variant}, {layer}: banding retrained (shipped {result['shipped_banding'][layer]:+.3f})")

# %% [markdown]
# ## What we found
# With global average pooling, both conv3a and conv3b band horizontally on every seed, and
# turning the images turns the bands (on every seed in conv3a, on two of three in conv3b). Without
# pooling, conv3a loses its bands; conv3b keeps a weaker lean (+0.05 on average against +0.12),
# about what the shape-only control shows, so part of conv3b's lean has nothing to do with height.
# With pooling along x only, we see the *reverse* of the article: the bands do not leave the last
# layer for the one before; conv3b bands more than in any other variant and conv3a not at all.
# All bands here are weak (about 0.1 on a scale to 1). The table holds every layer and seed.

# %%
closing = banding_summary_table(banding, accuracy, BANDS)
lesson.record("closing_table", closing)
lesson.record("setup", {"groups": GROUPS, "data": DATA, "training": TRAINING})  # what every model was trained with
print(format_banding_table(closing))

# %%
lesson.claim("gap_last_layer_bands", source=f"{ARTICLE}, §'What affects banding' (simplified network)",
             claim="with global average pooling, the last conv layer's kernels band horizontally",
             status="reproduced" if counts[b]["baseline"]["horizontal"] >= 2 else "not reproduced",
             evidence=[f"{b}_baseline_mean_banding", f"{b}_baseline_seeds_horizontal", f"{b}_untrained_spread"],
             note=f"every seed, but weakly ({min(banding[b]['baseline']):+.2f} to {max(banding[b]['baseline']):+.2f} "
                  "on a scale to 1)")
lesson.claim("bands_visible_by_eye", source=f"{ARTICLE}, §'Where weight banding occurs'",
             claim="the bands stand out at a glance in NMF pictures of the last layer's weights",
             status="not reproduced", evidence=[f"{b}_baseline_row_fraction", f"{b}_baseline_mean_banding"],
             note=f"3×3 kernels: row means explain {tables[b]['baseline'][0]['horizontal']:.2f} of the spatial variance "
                  f"(seed 0), column means {tables[b]['baseline'][0]['vertical']:.2f}, random weights 0.25 each; "
                  "weight_pictures.png shows no visible bands")
lesson.claim("layers_before_band_too", source=f"{ARTICLE}, §'What affects banding' (simplified network)",
             claim="the two layers before the last often band as well",
             status="partial", evidence=[f"{a}_baseline_seeds_horizontal", "conv2b_baseline_seeds_horizontal"],
             note=f"{a} bands on {counts[a]['baseline']['horizontal']}/3 seeds; conv2b (16×16 maps) on "
                  f"{seed_counts(conv2b, BANDS)['horizontal']}/3")
lesson.claim("rotation_turns_bands", source=f"{ARTICLE}, §'Rotating images 90 degrees'",
             claim="training on images turned by 90° gives vertical bands instead",
             status="reproduced" if counts[b]["rotated"]["vertical"] >= 2 else "not reproduced",
             evidence=[f"{b}_rotated_seeds_vertical", f"{b}_rotated_mean_banding", f"{a}_rotated_seeds_vertical"],
             note=f"{b}: {counts[b]['rotated']['vertical']}/3 seeds past -{BANDS} (scores "
                  + " ".join(f"{v:+.3f}" for v in banding[b]["rotated"]) + f"); {a}: "
                  f"{counts[a]['rotated']['vertical']}/3")
lesson.claim("flatten_removes_bands", source=f"{ARTICLE}, §'Fully connected layer without global average pooling'",
             claim="without global average pooling the last layer does not band",
             status="partial", evidence=[f"{b}_flatten_seeds_unbanded", f"{b}_baseline_minus_flatten_mean",
                                         f"{b}_flatten_mean_banding", f"{a}_flatten_seeds_unbanded"],
             note=f"{b} drops from {mean_and_spread(banding[b]['baseline'])[0]:+.3f} to "
                  f"{mean_and_spread(banding[b]['flatten'])[0]:+.3f} (mean) but every seed stays positive, like "
                  f"the shape-only control; {a} loses its bands on every seed")
lesson.claim("avg_x_moves_bands_back", source=f"{ARTICLE}, §'Average pooling along x-axis only'",
             claim="with pooling along x only, the last layer stops banding and the layer before it bands instead",
             status="not reproduced",
             evidence=[f"{b}_avg_x_seeds_horizontal", f"{a}_avg_x_seeds_horizontal", "avg_x_last_minus_before_min",
                       f"{b}_avg_x_mean_banding", f"{a}_avg_x_mean_banding"],
             note=f"the reverse: {b} bands on {counts[b]['avg_x']['horizontal']}/3 seeds, more than any other "
                  f"variant, {a} on {counts[a]['avg_x']['horizontal']}/3")
lesson.claim("bands_keep_height", source=f"{ARTICLE}, §'Where weight banding occurs' (the hypothesis)",
             claim="banding is how the network keeps vertical position that global pooling throws away",
             status="partial",
             evidence=[f"{a}_shape_only_seeds_unbanded", f"{a}_baseline_minus_shape_only",
                       f"{b}_shape_only_seeds_unbanded", f"{b}_baseline_minus_shape_only_mean"],
             note=f"our control (labels that ignore height) removes {a}'s bands on every seed, but {b}'s shape-only "
                  "seeds overlap the baseline's")

# %% [markdown]
# ### Aside, not measured here: variants that keep the bands
# The article also tried ways of giving the network back some position after global average
# pooling, and the bands stayed in each of them: global *max* pooling followed by two fully
# connected layers, CoordConv channels (pixel coordinates as extra inputs) in the last two conv
# layers, learned spatial masks before the pooling, an attention layer instead of the pooling,
# and splitting the last layer's output into groups with one fully connected layer each. None of
# these is trained in this course, so the ledger makes no claim about them.

# %% [markdown]
# ## References
# - Distill, *Weight Banding* (Petrov, Voss, Schubert, Cammarata, Goh, Olah, 2021): where banding occurs and
#   how NMF pictures show it; what affects banding in a simplified network (rotating the images 90°, a fully
#   connected layer without global average pooling, average pooling along x only, the variants where banding
#   persisted); the same interventions in InceptionV1, ResNet50 and VGG19 (not repeated here).
# - Lin, Chen, Yan (2014), *Network In Network* (global average pooling).
# - Szegedy et al. (2015), *Going Deeper with Convolutions*; He, Zhang, Ren, Sun (2016), *Deep Residual Learning
#   for Image Recognition*; Simonyan, Zisserman (2014), *Very Deep Convolutional Networks* (the architectures
#   the article retrained).
# - Liu et al. (2018), *An Intriguing Failing of Convolutional Neural Networks and the CoordConv Solution*.
# - Krizhevsky, Sutskever, Hinton (2012), *ImageNet Classification with Deep Convolutional Neural Networks*
#   (AlexNet: no global pooling, and no banding).

# %%
summary = lesson.finish()
