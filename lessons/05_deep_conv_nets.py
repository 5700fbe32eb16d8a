# %% [markdown]
# # 05 · Deep convolutional networks
# Stacks of convolution, ReLU and pooling build a hierarchy of features; each unit sees a
# receptive field that grows layer by layer; pooling turns position-tuned "simple cells"
# into shift-tolerant "complex cells"; and a small CNN trained on shapes beats an MLP of the
# same size, until the pixels are shuffled and the neighbourhoods it relies on are gone.

# %% tags=["parameters"]
fast = False  # True: load the shipped checkpoints instead of training four nets (what `--fast` and CI use)

# %%
try:  # before `pip install -e .` the course cannot be imported: say so in one line, not a traceback
    import course  # noqa: F401
except ModuleNotFoundError as missing:
    raise SystemExit(f"{missing}: install the course first, from its folder: "
                     "pip install -r requirements.txt && pip install -e .") from None
import torch

from course.chapters.deep_conv_nets import (complex_cell, footprint, image_near, layer_geometry,
                                            layer_receptive_fields, measure_layer_fields, oriented_bar,
                                            oriented_filter, shift_sensitivity, simple_cell, strongest_channel, tuning,
                                            twin_unit_gradient, unit_gradient)
from course.data.shapes import CLASSES, Shapes
from course.figures.deep_conv_nets import (plot_first_layer_filters, plot_four_way, plot_hierarchy,
                                           plot_receptive_fields, plot_shapes_examples, plot_simple_complex)
from course.models import RECIPES, TOLERANCE, load_shipped, parameter_count, train_recipe
from course.runtime.lesson import Lesson
from course.runtime.train import evaluate

lesson = Lesson.start("05_deep_conv_nets", fast=fast)
LECTURE = ("NYU lecture 'Visualization of neural networks, parameter transformation and fundamental concepts "
           "of convolution'")
PIXELS = {"in place": "", "shuffled": "_permuted"}  # recipe name suffix for each pixel order

# %% [markdown]
# ## A data set where position and shape both vary
# Five classes (disc, square, triangle, cross, line), drawn at random places, sizes,
# angles and brightness on a noisy background: 6000 training and 2000 test images, all
# generated from a seed. The second row shows the same images after one fixed shuffle of
# the pixel positions, used at the end of the lesson: every pixel is still there, only
# the neighbourhoods are gone.

# %%
recipe = RECIPES["shapes_cnn"]
in_place = Shapes("test", n=recipe.data["n_test"], seed=recipe.data["seed"])
test_sets = {"in place": in_place,
             "shuffled": in_place.with_pixels_shuffled(RECIPES["shapes_cnn_permuted"].data["permutation_seed"])}
first_of_each = [int((in_place.labels == c).nonzero()[0]) for c in range(len(CLASSES))]
lesson.show(plot_shapes_examples(in_place.images[first_of_each], in_place.labels[first_of_each], CLASSES,
                                 test_sets["shuffled"].images[first_of_each]), "shapes_examples")
lesson.report("classes", len(CLASSES), "disc, square, triangle, cross, line")

# %% [markdown]
# ## Four small networks: a CNN and an MLP, on pixels in place and shuffled
# The CNN has three blocks of 3x3 convolution, ReLU and 2x2 max pooling, then one linear
# layer; the MLP has one hidden layer of 8 units and about the same number of weights.
# The full run trains all four from scratch (about 30 s of CPU per CNN, a few per MLP); `--fast`
# loads the shipped checkpoints, which `python -m course train MODEL` recreates.

# %%
models, curves, accuracies = {}, {}, {}
for model_kind in ("cnn", "mlp"):
    for pixels, suffix in PIXELS.items():
        name = f"shapes_{model_kind}{suffix}"
        if lesson.fast:
            model, metadata = load_shipped(name)
        else:
            model, metadata = train_recipe(RECIPES[name])
            shipped = load_shipped(name)[1]["metrics"]["test_accuracy"]
            lesson.report(f"{name}_retrained_minus_shipped", metadata["metrics"]["test_accuracy"] - shipped,
                          f"{name}: retrained vs shipped test accuracy", bound=TOLERANCE, at_least=-TOLERANCE,
                          kind="tool")
        accuracy = evaluate(model, test_sets[pixels].tensors())[1]
        key = (model_kind.upper(), pixels)
        models[key], curves[key], accuracies[key] = model, metadata["history"]["test_accuracy"], accuracy
        if lesson.fast:
            lesson.report(f"{name}_vs_checkpoint_metric", abs(accuracy - metadata["metrics"]["test_accuracy"]),
                          f"{name}: |accuracy now - accuracy in its checkpoint| (2000 images)", bound=0.001,
                          kind="tool")
cnn = models[("CNN", "in place")]

# %% [markdown]
# ## What the first layer learned, and what each block passes on
# The first layer's 3x3 filters are small edge and blob detectors. After each block the
# maps are half as large and each unit sees a larger patch of the image: block 1 answers
# edges, block 2 combinations of edges (corners, line ends), block 3 parts of whole shapes.
# This is the hierarchy a deep net builds: local pixels into motifs, motifs into parts,
# parts into objects. The maps below show it; the lesson does not measure what each
# block's units detect.

# %%
fields = [size for size, _, _ in layer_receptive_fields([spec for _, spec in layer_geometry(cnn)])][1::2]
lesson.show(plot_first_layer_filters(cnn.blocks[0][0].weight.detach()), "first_layer_filters")
index = lesson.seed % len(in_place)
with torch.no_grad():
    maps = [m[0] for m in cnn.features(in_place.images[index:index + 1])]
lesson.show(plot_hierarchy(in_place.images[index, 0], maps, fields), "feature_hierarchy")
lesson.record("feature_map_shapes", [list(m.shape) for m in maps])
lesson.report("cnn_parameters", parameter_count(cnn), "weights in the CNN")

# %% [markdown]
# ## Receptive fields: by formula, and checked by a gradient
# Along one axis, a layer with kernel k, stride s, padding p turns a unit's field
# (size, jump, start) into (size + (k−1)·jump, jump·s, start − p·jump). The check: the
# gradient of one unit with respect to the input can only be non-zero inside its field.
# Max pooling and ReLU let the gradient through only where they are "on", so the exact
# check uses a twin of the network with the same layer shapes, positive weights and average
# pooling; the trained net's own gradient is sparser but stays inside the same box.

# %%
table = measure_layer_fields(cnn, in_channels=1, image_size=32)
lesson.record("receptive_field_table", table)
lesson.report("receptive_field_sizes", [row["size"] for row in table], "input pixels one unit sees, per layer")
lesson.report("receptive_field_mismatches", sum(not row["exact"] for row in table),
              "layers whose gradient footprint is not exactly the formula's square", bound=0, kind="tool")
top = table[-1]
first = top["start"] + top["unit"] * top["jump"]
box = (first, first + top["size"] - 1)
twin = twin_unit_gradient(cnn, in_channels=1, image_size=32, unit=top["unit"])
image = in_place.images[image_near(in_place, (box[0] + box[1]) / 2, lesson.seed)]
trained = unit_gradient(lambda batch: cnn.features(batch)[-1], image, strongest_channel(cnn, image, top["unit"]),
                        top["unit"], top["unit"])
outside = trained.clone()
outside[box[0]:box[1] + 1, box[0]:box[1] + 1] = 0
lesson.show(plot_receptive_fields([(row["label"], row["size"]) for row in table], twin, trained, image[0], box, box),
            "receptive_fields")
lesson.report("top_unit_field_size", footprint(twin)["height"], "a top unit's field by gradient (formula: 22)",
              bound=22, at_least=22, kind="tool")
lesson.report("trained_gradient_outside_field", outside.abs().max().item(),
              "largest |gradient| of the trained net's top unit outside the formula's box", bound=0, kind="tool")

# %% [markdown]
# ## Aside: where the idea comes from (history and biology, not measured here)
# *This cell is background: nothing in it is computed or checked by the lesson.*
#
# - **Hubel and Wiesel (1959, 1962).** They recorded single neurons in the primary visual
#   cortex (V1) of anaesthetised cats while moving spots and slits of light across a screen.
#   Each cell cared only about a small patch of the visual field, its receptive field, and
#   most cells preferred bars or edges at one orientation, firing less as the bar was turned
#   away from it. In 1962 they called cells whose fields have separate "on" and "off" zones,
#   so that the bar must lie at the right place as well as the right angle, *simple* cells,
#   and cells that keep the angle preference wherever the bar falls in a larger field
#   *complex* cells; they suggested that a complex cell collects many simple cells of one
#   orientation at neighbouring positions. The same detector repeated all over the visual
#   field is, in today's terms, a convolution.
# - **Fukushima (1980), the neocognitron.** A computer model built on that suggestion:
#   layers of "S-cells" (feature detectors, the same weights at every position) alternate
#   with layers of "C-cells" that pool neighbouring S-cells, so recognising handwritten
#   characters tolerates shifts and some distortion. Its detectors were set by hand or
#   learned without labels, one layer at a time; there was no backpropagation.
# - **LeCun et al. (1989, 1998).** The same alternation of shared-weight convolutions and
#   subsampling, trained end to end by backpropagation from labelled examples: handwritten
#   ZIP-code digits from US mail in 1989, and LeNet-5 in a document-reading system in 1998.
#   These are the direct ancestors of the CNN trained in this lesson. (Riesenhuber and
#   Poggio's HMAX model, 1999, is a later model of the simple/complex hierarchy, again
#   without backpropagation.)
#
# Next, one oriented filter followed by ReLU plays a simple cell, and a max pool over its
# positions plays a complex cell.

# %% [markdown]
# ## Simple and complex cells
# Here a simple cell is one oriented filter at one position followed by ReLU, and a complex
# cell is the max of those simple cells over a 9x9 neighbourhood: a conv layer and a max pool.
# Both are built by hand (the filter's angle is chosen, not learned). Both prefer the
# filter's angle; only the complex cell keeps answering when the bar moves sideways.

# %%
preferred, size = 30.0, 31
weights = oriented_filter(11, preferred)
angles, offsets = [float(a) for a in range(0, 180, 15)], list(range(-6, 7))
cell_curves = {name: tuning(cell, weights, size, angles, offsets) for name, cell in
               (("simple", simple_cell), ("complex", complex_cell))}
at_preferred, centre = angles.index(preferred), offsets.index(0)
orientation = {n: (c[:, centre] / c[at_preferred, centre]).tolist() for n, c in cell_curves.items()}
shift = {n: (c[at_preferred] / c[at_preferred, centre]).tolist() for n, c in cell_curves.items()}
stimuli = [(f"bar {a:g} deg, offset {o}", oriented_bar(size, a, o)) for a, o in ((30, 0), (30, 3), (120, 0))]
lesson.show(plot_simple_complex(stimuli, weights, angles, orientation, offsets, shift, preferred),
            "simple_complex_cells")
for name, c in cell_curves.items():
    lesson.report(f"{name}_preferred_angle", angles[int(c[:, centre].argmax())],
                  f"{name} cell: bar angle with the strongest response (filter: 30)", bound=30, at_least=30,
                  kind="tool")
    lesson.report(f"{name}_orthogonal_over_preferred", c[angles.index(120.0), centre].item()
                  / c[at_preferred, centre].item(), f"{name} cell: response to the orthogonal bar, relative",
                  bound=0.2, kind="tool")
lesson.report("simple_shift_sensitivity", shift_sensitivity(cell_curves["simple"][at_preferred], offsets, 3),
              "simple cell: 1 - weakest response within a 3-pixel shift (1 = silenced)", at_least=0.9, kind="tool")
lesson.report("complex_shift_sensitivity", shift_sensitivity(cell_curves["complex"][at_preferred], offsets, 3),
              "complex cell: the same (0 = shift ignored)", bound=0.05, kind="tool")

# %% [markdown]
# ## CNN against MLP, with pixels in place and shuffled
# With the same number of weights, the CNN spends them on small filters reused at every
# position, so it learns shapes wherever they appear; the MLP must learn every position
# separately. Shuffle the pixels (one fixed permutation for every image) and the CNN's
# 3x3 windows now hold unrelated pixels: most of its advantage is gone (what is left comes
# from its 512 pooled features against the MLP's 8 hidden units). The MLP does not care:
# a shuffle only reorders its input weights.

# %%
parameters = {kind: parameter_count(models[(kind, "in place")]) for kind in ("CNN", "MLP")}
lesson.show(plot_four_way(accuracies, curves, parameters), "cnn_vs_mlp")
lesson.report("cnn_test_accuracy", accuracies[("CNN", "in place")], "CNN, pixels in place", at_least=0.95)
lesson.report("mlp_test_accuracy", accuracies[("MLP", "in place")], "MLP, pixels in place")
lesson.report("cnn_shuffled_test_accuracy", accuracies[("CNN", "shuffled")], "CNN, pixels shuffled")
lesson.report("mlp_shuffled_test_accuracy", accuracies[("MLP", "shuffled")], "MLP, pixels shuffled")
lesson.report("mlp_parameters", parameters["MLP"], f"weights in the MLP (CNN: {parameters['CNN']})")
advantage_in_place = accuracies[("CNN", "in place")] - accuracies[("MLP", "in place")]
advantage_shuffled = accuracies[("CNN", "shuffled")] - accuracies[("MLP", "shuffled")]
lesson.report("cnn_advantage_in_place", advantage_in_place, "CNN minus MLP accuracy, pixels in place", at_least=0.3)
lesson.report("cnn_advantage_shuffled", advantage_shuffled, "CNN minus MLP accuracy, pixels shuffled")
lesson.report("cnn_advantage_lost_to_shuffling", 1 - advantage_shuffled / advantage_in_place,
              "fraction of the CNN's advantage that the shuffle takes away", at_least=0.6)
lesson.report("mlp_shuffle_effect", abs(accuracies[("MLP", "shuffled")] - accuracies[("MLP", "in place")]),
              "|MLP shuffled - MLP in place|: the MLP does not care", bound=0.03)

# %% [markdown]
# ## What the lecture claims, and what this lesson shows
# Each claim of the source text that this lesson tests, with the summary numbers behind its
# status. The simple and complex cells are built by hand, so they illustrate the biology's
# idea only as a construction; the four trained networks are the evidence for what a
# convolution needs from its data. The history in the aside is background, not a claim
# this lesson tests.

# %%
lesson.claim("hierarchy", source=f"{LECTURE}, §Deep Convolution Neural Networks",
             claim="stacked convolution, non-linearity and pooling layers build a hierarchy: edges, then their "
                   "combinations, then parts and objects", status="partial",
             evidence=["receptive_field_sizes", "feature_map_shapes", "cnn_test_accuracy"],
             note="receptive fields grow from 3 to 22 pixels and the trained CNN works; the feature maps are shown, "
                  "but what the deeper units detect is not measured")
lesson.claim("simple_cells", source=f"{LECTURE}, §Hubel & Wiesel's contributions",
             claim="simple cells answer an edge or bar at one orientation, at one place of their receptive field",
             status="constructed only",
             evidence=["simple_preferred_angle", "simple_orthogonal_over_preferred", "simple_shift_sensitivity"],
             note="a hand-made oriented filter followed by ReLU")
lesson.claim("complex_cells", source=f"{LECTURE}, §Hubel & Wiesel's contributions",
             claim="complex cells pool simple cells over a region (a max, a sum, ...) and so tolerate small shifts",
             status="constructed only",
             evidence=["complex_preferred_angle", "complex_shift_sensitivity"],
             note="a max pool over the hand-made simple cell")
lesson.claim("arrays_need_local_structure", source=f"{LECTURE}, §Deep Convolution Neural Networks",
             claim="convolutional nets apply to data in arrays, provided the arrays have the right properties "
                   "(here: neighbouring entries belong together)", status="reproduced",
             evidence=["cnn_advantage_in_place", "cnn_advantage_lost_to_shuffling", "mlp_shuffle_effect"],
             note="four trained nets, one training seed each; shuffling the pixels removes most of the CNN's lead "
                  "and leaves the MLP unchanged")

# %% [markdown]
# ## References
# - NYU Deep Learning (LeCun, Canziani), lecture "Visualization of neural networks, parameter
#   transformation and fundamental concepts of convolution": §Deep Convolution Neural
#   Networks, §Inspirations from Biology, §Hubel & Wiesel's contributions, §Fukushima.
# - D. H. Hubel, T. N. Wiesel (1959). Receptive fields of single neurones in the cat's
#   striate cortex. Journal of Physiology 148(3).
# - D. H. Hubel, T. N. Wiesel (1962). Receptive fields, binocular interaction and functional
#   architecture in the cat's visual cortex. Journal of Physiology 160(1).
# - K. Fukushima (1980). Neocognitron: a self-organizing neural network model for a mechanism
#   of pattern recognition unaffected by shift in position. Biological Cybernetics 36(4).
# - Y. LeCun, B. Boser, J. S. Denker, D. Henderson, R. E. Howard, W. Hubbard, L. D. Jackel
#   (1989). Backpropagation applied to handwritten zip code recognition. Neural Computation 1(4).
# - Y. LeCun, L. Bottou, Y. Bengio, P. Haffner (1998). Gradient-based learning applied to
#   document recognition. Proceedings of the IEEE 86(11).
# - M. Riesenhuber, T. Poggio (1999). Hierarchical models of object recognition in cortex.
#   Nature Neuroscience 2(11).
# - A. Araujo, W. Norris, J. Sim (2019). Computing receptive fields of convolutional neural
#   networks. Distill.

# %%
summary = lesson.finish()
