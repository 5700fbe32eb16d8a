"""Deep convolutional networks
Stacks of convolution, ReLU and pooling build a hierarchy of features; each unit sees a
receptive field that grows layer by layer; pooling turns position-tuned "simple cells"
into shift-tolerant "complex cells"; and a small CNN trained on shapes beats an MLP of the
same size, until the pixels are shuffled and the neighbourhoods it relies on are gone.
"""

# %%
import torch

from course.chapters.deep_conv_nets import (complex_cell, footprint, layer_geometry, layer_receptive_fields,
                                            measure_layer_fields, oriented_bar, oriented_filter, shift_sensitivity,
                                            simple_cell, tuning, twin_unit_gradient, unit_gradient)
from course.data.shapes import CLASSES, Shapes
from course.figures.deep_conv_nets import (plot_first_layer_filters, plot_four_way, plot_hierarchy,
                                           plot_receptive_fields, plot_shapes_examples, plot_simple_complex)
from course.models import RECIPES, TOLERANCE, load_shipped, parameter_count, train_recipe
from course.runtime.lesson import Lesson
from course.runtime.train import evaluate

PIXELS = {"in place": "", "shuffled": "_permuted"}  # recipe name suffix for each pixel order


# %% [markdown]
# ## A data set where position and shape both vary
# Five classes (disc, square, triangle, cross, line), drawn at random places, sizes,
# angles and brightness on a noisy background: 6000 training and 2000 test images, all
# generated from a seed. The second row shows the same images after one fixed shuffle of
# the pixel positions, used at the end of the lesson: every pixel is still there, only
# the neighbourhoods are gone.

# %%
def shapes_data_set(lesson):
    recipe = RECIPES["shapes_cnn"]
    in_place = Shapes("test", n=recipe.data["n_test"], seed=recipe.data["seed"])
    shuffled = in_place.with_pixels_shuffled(RECIPES["shapes_cnn_permuted"].data["permutation_seed"])
    data = {"in place": in_place, "shuffled": shuffled}
    first_of_each = [int((data["in place"].labels == c).nonzero()[0]) for c in range(len(CLASSES))]
    lesson.save(plot_shapes_examples(data["in place"].images[first_of_each], data["in place"].labels[first_of_each],
                                     CLASSES, data["shuffled"].images[first_of_each]), "shapes_examples")
    lesson.report("classes", len(CLASSES), "disc, square, triangle, cross, line")
    return data


# %% [markdown]
# ## Four small networks: a CNN and an MLP, on pixels in place and shuffled
# The CNN has three blocks of 3x3 convolution, ReLU and 2x2 max pooling, then one linear
# layer; the MLP has one hidden layer of 8 units and about the same number of weights.
# The full run trains all four from scratch (about 30 s of CPU per CNN, a few per MLP); `--fast`
# loads the shipped checkpoints, which `python -m course train MODEL` recreates.

# %%
def four_models(lesson, test_sets):
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
                              f"{name}: retrained vs shipped test accuracy", bound=TOLERANCE, at_least=-TOLERANCE)
            accuracy = evaluate(model, test_sets[pixels].tensors())[1]
            key = (model_kind.upper(), pixels)
            models[key], curves[key], accuracies[key] = model, metadata["history"]["test_accuracy"], accuracy
            if lesson.fast:
                lesson.report(f"{name}_vs_checkpoint_metric", abs(accuracy - metadata["metrics"]["test_accuracy"]),
                              f"{name}: |accuracy now - accuracy in its checkpoint| (2000 images)", bound=0.001)
    return models, curves, accuracies


# %% [markdown]
# ## What the first layer learned, and what each block passes on
# The first layer's 3x3 filters are small edge and blob detectors. After each block the
# maps are half as large and each unit sees a larger patch of the image: block 1 answers
# edges, block 2 combinations of edges (corners, line ends), block 3 parts of whole shapes.
# This is the hierarchy a deep net builds: local pixels into motifs, motifs into parts,
# parts into objects.

# %%
def filters_and_hierarchy(lesson, cnn, test_set):
    fields = [size for size, _, _ in layer_receptive_fields([spec for _, spec in layer_geometry(cnn)])][1::2]
    lesson.save(plot_first_layer_filters(cnn.blocks[0][0].weight.detach()), "first_layer_filters")
    index = lesson.seed % len(test_set)
    with torch.no_grad():
        maps = [m[0] for m in cnn.features(test_set.images[index:index + 1])]
    lesson.save(plot_hierarchy(test_set.images[index, 0], maps, fields), "feature_hierarchy")
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
def receptive_fields(lesson, cnn, test_set):
    table = measure_layer_fields(cnn, in_channels=1, image_size=32)
    lesson.record("receptive_field_table", table)
    lesson.report("receptive_field_sizes", [row["size"] for row in table], "input pixels one unit sees, per layer")
    lesson.report("receptive_field_mismatches", sum(not row["exact"] for row in table),
                  "layers whose gradient footprint is not exactly the formula's square", bound=0)
    top = table[-1]
    first = top["start"] + top["unit"] * top["jump"]
    box = (first, first + top["size"] - 1)
    twin = twin_unit_gradient(cnn, in_channels=1, image_size=32, unit=top["unit"])
    image = test_set.images[image_near(test_set, (box[0] + box[1]) / 2, lesson.seed)]
    trained = unit_gradient(lambda batch: cnn.features(batch)[-1], image, strongest_channel(cnn, image, top["unit"]),
                            top["unit"], top["unit"])
    outside = trained.clone()
    outside[box[0]:box[1] + 1, box[0]:box[1] + 1] = 0
    lesson.save(plot_receptive_fields([(row["label"], row["size"]) for row in table], twin, trained, image[0],
                                      box, box), "receptive_fields")
    lesson.report("top_unit_field_size", footprint(twin)["height"], "a top unit's field by gradient (formula: 22)",
                  bound=22, at_least=22)
    lesson.report("trained_gradient_outside_field", outside.abs().max().item(),
                  "largest |gradient| of the trained net's top unit outside the formula's box", bound=0)


def image_near(test_set, centre, seed):
    """Index of a test image whose shape is centred within 3 pixels of (centre, centre); seed picks which."""
    near = ((test_set.centres - centre).abs().max(dim=1).values <= 3).nonzero()[:, 0]
    return int(near[seed % len(near)])


def strongest_channel(cnn, image, unit):
    with torch.no_grad():
        return int(cnn.features(image[None])[-1][0, :, unit, unit].argmax())


# %% [markdown]
# ## Simple and complex cells
# Hubel and Wiesel found cells in the visual cortex that fire for a bar at one angle in
# one place ("simple"), and cells that fire for that angle anywhere in a small region
# ("complex"), as if they pooled many simple cells. Here a simple cell is one oriented
# filter at one position followed by ReLU, and a complex cell is the max of those simple
# cells over a 9x9 neighbourhood: a conv layer and a max pool. Both prefer the filter's
# angle; only the complex cell keeps answering when the bar moves sideways.

# %%
def simple_and_complex_cells(lesson):
    preferred, size = 30.0, 31
    weights = oriented_filter(11, preferred)
    angles, offsets = [float(a) for a in range(0, 180, 15)], list(range(-6, 7))
    curves = {name: tuning(cell, weights, size, angles, offsets) for name, cell in
              (("simple", simple_cell), ("complex", complex_cell))}
    at_preferred, centre = angles.index(preferred), offsets.index(0)
    orientation = {n: (c[:, centre] / c[at_preferred, centre]).tolist() for n, c in curves.items()}
    shift = {n: (c[at_preferred] / c[at_preferred, centre]).tolist() for n, c in curves.items()}
    stimuli = [(f"bar {a:g} deg, offset {o}", oriented_bar(size, a, o)) for a, o in ((30, 0), (30, 3), (120, 0))]
    lesson.save(plot_simple_complex(stimuli, weights, angles, orientation, offsets, shift, preferred),
                "simple_complex_cells")
    for name, c in curves.items():
        lesson.report(f"{name}_preferred_angle", angles[int(c[:, centre].argmax())],
                      f"{name} cell: bar angle with the strongest response (filter: 30)", bound=30, at_least=30)
        lesson.report(f"{name}_orthogonal_over_preferred", c[angles.index(120.0), centre].item()
                      / c[at_preferred, centre].item(), f"{name} cell: response to the orthogonal bar, relative",
                      bound=0.2)
    lesson.report("simple_shift_sensitivity", shift_sensitivity(curves["simple"][at_preferred], offsets, 3),
                  "simple cell: 1 - weakest response within a 3-pixel shift (1 = silenced)", at_least=0.9)
    lesson.report("complex_shift_sensitivity", shift_sensitivity(curves["complex"][at_preferred], offsets, 3),
                  "complex cell: the same (0 = shift ignored)", bound=0.05)


# %% [markdown]
# ## CNN against MLP, with pixels in place and shuffled
# With the same number of weights, the CNN spends them on small filters reused at every
# position, so it learns shapes wherever they appear; the MLP must learn every position
# separately. Shuffle the pixels (one fixed permutation for every image) and the CNN's
# 3x3 windows now hold unrelated pixels: most of its advantage is gone (what is left comes
# from its 512 pooled features against the MLP's 8 hidden units). The MLP does not care:
# a shuffle only reorders its input weights.

# %%
def cnn_versus_mlp(lesson, models, curves, accuracies):
    parameters = {kind: parameter_count(models[(kind, "in place")]) for kind in ("CNN", "MLP")}
    lesson.save(plot_four_way(accuracies, curves, parameters), "cnn_vs_mlp")
    lesson.report("cnn_test_accuracy", accuracies[("CNN", "in place")], "CNN, pixels in place", at_least=0.95)
    lesson.report("mlp_test_accuracy", accuracies[("MLP", "in place")], "MLP, pixels in place")
    lesson.report("cnn_shuffled_test_accuracy", accuracies[("CNN", "shuffled")], "CNN, pixels shuffled")
    lesson.report("mlp_shuffled_test_accuracy", accuracies[("MLP", "shuffled")], "MLP, pixels shuffled")
    lesson.report("mlp_parameters", parameters["MLP"], f"weights in the MLP (CNN: {parameters['CNN']})")
    in_place = accuracies[("CNN", "in place")] - accuracies[("MLP", "in place")]
    shuffled = accuracies[("CNN", "shuffled")] - accuracies[("MLP", "shuffled")]
    lesson.report("cnn_advantage_in_place", in_place, "CNN minus MLP accuracy, pixels in place", at_least=0.3)
    lesson.report("cnn_advantage_shuffled", shuffled, "CNN minus MLP accuracy, pixels shuffled")
    lesson.report("cnn_advantage_lost_to_shuffling", 1 - shuffled / in_place,
                  "fraction of the CNN's advantage that the shuffle takes away", at_least=0.6)
    lesson.report("mlp_shuffle_effect", abs(accuracies[("MLP", "shuffled")] - accuracies[("MLP", "in place")]),
                  "|MLP shuffled - MLP in place|: the MLP does not care", bound=0.03)


# %%
def main(argv=None):
    lesson = Lesson.start(__doc__, argv, __file__)
    test_sets = shapes_data_set(lesson)
    models, curves, accuracies = four_models(lesson, test_sets)
    cnn = models[("CNN", "in place")]
    filters_and_hierarchy(lesson, cnn, test_sets["in place"])
    receptive_fields(lesson, cnn, test_sets["in place"])
    simple_and_complex_cells(lesson)
    cnn_versus_mlp(lesson, models, curves, accuracies)
    return lesson.finish()


if __name__ == "__main__":
    main()
