"""Group convolution: equivariance to rotations and flips
What "equivariant" means, f(Tx) = T'f(x), first for shifts and ordinary convolution, then for
the rotations by 90° and flips that form the groups p4 and p4m; group convolution as weight
tying; the hue of colours as a small group of its own; and a G-CNN against a plain CNN of the
same size on rotated images.
"""

# %%
import torch
import torch.nn.functional as F

import kernels
from course.analysis.hue_rotation import hue_rotation_matrix
from course.chapters.group_convolution import (P4GCNN, PlainCNN, colour_contrast_filter, cycle_hue, group_agreement,
                                               group_measure, hue_group_errors, hue_half_turn_vs_spatial_half_turn,
                                               hue_lift_equivariance_error, logits_under_rotation, randomly_rotated,
                                               upright_mask)
from course.data.shapes import CLASSES, Shapes
from course.figures.group_convolution import (plot_filter_bank, plot_logits_vs_angle, plot_rotating_feature_maps,
                                              plot_rotation_accuracies)
from course.models import parameter_count
from course.runtime.cpp_extension import cpp_extension_built
from course.runtime.lesson import Lesson
from course.runtime.train import evaluate, fit
from kernels.group_reference import expand_lift_filters
from kernels.groups import P4, P4M


def max_error(a, b):
    return (a - b).abs().max().item()


# %% [markdown]
# ## Equivariance: transform, then compute = compute, then transform
# A layer f is equivariant to a transformation T when f(Tx) = T′f(x): moving the input moves
# the output in a predictable way T′. Convolution is the standard example: shift an image
# and its feature map shifts by the same amount. With circular ("wrap-around") padding this
# holds exactly at every pixel; with zero padding it holds away from the borders.

# %%
def translation_equivariance(lesson):
    g = torch.Generator().manual_seed(lesson.seed)
    x, w = torch.randn(2, 3, 16, 16, generator=g), torch.randn(4, 3, 3, 3, generator=g)
    conv = lambda image: F.conv2d(F.pad(image, (1, 1, 1, 1), mode="circular"), w)  # noqa: E731
    shift = lambda image: torch.roll(image, shifts=(3, -5), dims=(-2, -1))  # noqa: E731
    lesson.report("translation_equivariance_error", max_error(conv(shift(x)), shift(conv(x))),
                  "circular conv: conv(shift x) vs shift(conv x), float32", bound=1e-5)
    lesson.report("rotation_breaks_plain_conv", max_error(conv(torch.rot90(x, 1, (-2, -1))),
                                                          torch.rot90(conv(x), 1, (-2, -1))),
                  "the same conv is NOT rotation-equivariant: conv(rot x) vs rot(conv x)", at_least=0.1)


# %% [markdown]
# ## Rotations by 90° and flips form groups
# The 4 quarter turns form the group p4; adding a mirror flip gives the 8 elements of p4m.
# "Group" means: doing one element after another is again an element (a multiplication
# table), there is a do-nothing element, and every element can be undone. We check that the
# table from `kernels.groups` agrees with what the transformations actually do to an image.

# %%
def rotation_groups(lesson):
    x = torch.randn(1, 1, 7, 7, generator=torch.Generator().manual_seed(lesson.seed))
    for group in (P4, P4M):
        error = max(max_error(group.act_on_image(group.act_on_image(x, h), g), group.act_on_image(x, int(group.table[g, h])))
                    for g in group.elements for h in group.elements)
        lesson.report(f"{group.name}_table_error", error, f"{group.name}: act(g, act(h, x)) vs act(g·h, x), all pairs", bound=0)
        undone = max(max_error(group.act_on_image(group.act_on_image(x, g), group.inverse(g)), x) for g in group.elements)
        lesson.report(f"{group.name}_inverse_error", undone, f"{group.name}: every element undone by its inverse", bound=0)


# %% [markdown]
# ## Group convolution is weight tying
# A p4 lifting layer does not learn 4 filters per output channel; it learns one and uses it
# in all 4 rotations (8 poses for p4m, with the flip). This is the weight-sharing map H(u) of
# lesson 02: the expanded bank is a fixed function of the few free weights, and its gradient
# adds up over the tied copies. One `F.conv2d` with the expanded bank is the whole layer.

# %%
def filter_bank(lesson):
    w = torch.tensor([[1.0, 0.8, 0.0], [0.9, -0.2, -0.6], [0.0, -0.3, -1.0]]) * torch.tensor([1.0, 0.5, 0.2])
    bank = expand_lift_filters(w[None, None], P4M)[:, 0]  # (8, 3, 3)
    lesson.save(plot_filter_bank(bank, "p4m"), "filter_bank")
    lesson.report("p4m_bank_copies", bank.shape[0], "filters in the tied p4m bank of one learned 3×3 filter")
    lesson.report("bank_vs_transformed_filter", max(max_error(bank[g], P4M.act_on_image(w, g)) for g in P4M.elements),
                  "row g of the bank is g · w (DESIGN.md convention)", bound=0)
    x = torch.randn(2, 1, 12, 12, generator=torch.Generator().manual_seed(lesson.seed))
    lifted = kernels.p4_lift(x, w[None, None], padding=1)
    tied = F.conv2d(x, expand_lift_filters(w[None, None], P4), padding=1).reshape(2, 1, 4, 12, 12)
    lesson.report("lift_is_conv_with_bank", max_error(lifted, tied), "p4_lift vs F.conv2d with the expanded bank", bound=1e-6)


# %% [markdown]
# ## Rotate the input: the maps rotate and cycle along the group axis
# Lifting gives each channel a new group axis: one map per pose of the filter. Turn the input
# by 90° and every map turns by 90° too, and moves one step along that axis, because the pose
# that matched before is now matched by the next pose. Group convolutions keep this law layer
# after layer; we check it for every group element, for p4 and p4m, lift and group conv.

# %%
def rotating_feature_maps(lesson):
    g = torch.Generator().manual_seed(lesson.seed)
    shapes = Shapes("test", n=20, seed=lesson.seed)
    image = shapes.images[shapes.labels == CLASSES.index("triangle")][:1]  # no 90° symmetry
    w = torch.tensor([[[[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]]])  # a "bright below" edge
    maps, rotated_maps = (torch.relu(kernels.p4_lift(x, w, padding=1)) for x in (image, torch.rot90(image, 1, (-2, -1))))
    lesson.save(plot_rotating_feature_maps(image[0, 0], torch.rot90(image, 1, (-2, -1))[0, 0], maps[0, 0],
                                           rotated_maps[0, 0]), "rotating_feature_maps")
    x = torch.randn(2, 3, 15, 15, generator=g)
    for group, lift, conv in ((P4, kernels.p4_lift, kernels.p4_conv), (P4M, kernels.p4m_lift, kernels.p4m_conv)):
        wl = torch.randn(4, 3, 3, 3, generator=g) / 27**0.5  # unit-scale outputs, so 1e-5 is a fair float32 bound
        wg = torch.randn(5, 4, group.order, 3, 3, generator=g) / (36 * group.order) ** 0.5
        f = lift(x, wl, padding=1)
        lift_error = max(max_error(lift(group.act_on_image(x, u), wl, padding=1), group.act_on_feature_map(f, u))
                         for u in group.elements)
        conv_error = max(max_error(conv(group.act_on_feature_map(f, u), wg, padding=1),
                                   group.act_on_feature_map(conv(f, wg, padding=1), u)) for u in group.elements)
        lesson.report(f"{group.name}_lift_equivariance_error", lift_error,
                      f"{group.name} lift(u·x) vs u·lift(x), every u, float32", bound=1e-5)
        lesson.report(f"{group.name}_conv_equivariance_error", conv_error,
                      f"{group.name} conv(u·f) vs u·conv(f), every u, float32", bound=1e-5)


# %% [markdown]
# ## Fused kernels: the expanded bank need never exist
# The reference above builds the expanded filter bank (G copies of every filter) and hands it to
# one ordinary convolution. The fused kernels in `kernels/` (C++ and Triton; CUDA on a GPU) skip
# that copy: when they need tap (u, v) of copy g they compute which stored weight it is, and in
# the backward pass they add the gradients of the G tied copies straight into the one stored
# filter. They must agree with the reference, gradients included, before their speed means anything.

# %%
def fused_kernels(lesson):
    for backend in ("triton", "cpp", "cuda"):
        if backend == "cpp" and lesson.fast and not cpp_extension_built():
            print("    cpp: not run with --fast: its extension is not built yet (it builds on first use, about a minute)")
            continue
        ok, why = kernels.group_backends([backend])[backend]
        if not ok:
            print(f"    {backend}: not run here ({why})")
            continue
        lesson.report(f"{backend}_fused_p4m_conv_error", group_agreement(backend),
                      f"fused {backend} vs expanded-filter reference, output and all gradients (float64, relative)",
                      bound=1e-10)
    rows, note = group_measure(allow_build=not lesson.fast, reps=3 if lesson.fast else 7)
    for row in rows:
        lesson.report("cpp_fused_forward_speed_vs_reference", row.forward_ratio,
                      f"reference time / fused cpp time, forward, {row.op} {row.shape}, 1 thread")
        lesson.report("cpp_fused_train_speed_vs_reference", row.ratio,
                      "the same for forward + backward (>1: the fused kernel is faster)")
    if note:
        print(f"    {note}")


# %% [markdown]
# ## Hue is a group too
# Cycle the colour channels R→G→B→R: three steps give the identity, so this is an exact group
# of order 3 acting on colour images. A hue-lifting layer uses each filter in its 3 cyclic
# colourings and is equivariant: cycling the input's colours rolls the hue axis. The cycle is
# the 120° member of rotating colours about the grey axis. A half-turn of hue (180°) sends
# each colour contrast to its opposite, so a "colour A left, colour B right" unit becomes a
# "B left, A right" unit, the same as turning it by 180°. Limits: that is exact only for
# pure contrasts (no brightness part) with an odd spatial layout; 180° is not in the order-3
# channel-cycling group; and a real network's hue families are only approximately related.

# %%
def hue_group(lesson):
    g = torch.Generator().manual_seed(lesson.seed)
    x = torch.rand(2, 3, 12, 12, generator=g)
    errors = hue_group_errors(x)
    lesson.report("hue_cycle_order3_error", errors["order_3"], "cycling RGB 3 times is the identity", bound=0)
    lesson.report("hue_cycle_closure_error", errors["closure"], "cycle(a) then cycle(b) = cycle(a+b), all pairs", bound=0)
    lesson.report("hue_lift_equivariance_error", hue_lift_equivariance_error(x, torch.randn(4, 3, 3, 3, generator=g)),
                  "hue lift(cycle x) vs hue axis rolled, float32", bound=1e-5)
    permutation = cycle_hue(torch.eye(3, dtype=torch.float64)[:, :, None, None], 1)[..., 0, 0].T
    lesson.report("hue_120_is_channel_cycle", max_error(hue_rotation_matrix(120.0), permutation),
                  "rotating colours 120° about grey = the RGB cycle", bound=1e-12)
    lesson.report("hue_180_contrast_vs_spatial_180", hue_half_turn_vs_spatial_half_turn(colour_contrast_filter([1.0, -0.5, -0.5])),
                  "red-vs-cyan edge filter: hue +180° = spatial 180°", bound=1e-12)
    lesson.report("hue_180_with_brightness_part", hue_half_turn_vs_spatial_half_turn(colour_contrast_filter([1.0, 0.0, 0.0])),
                  "the same with a red-vs-black filter (has brightness): the relation fails", at_least=0.1)


# %% [markdown]
# ## A G-CNN against a CNN on rotated shapes
# Both models have about the same number of weights and the same layout; the G-CNN ends with
# a max over the group axis and over space, so its output cannot change when the input turns
# by 90°. We train both on "upright" shapes only (drawn within ±22.5° of the reference pose,
# modulo 180°) and test on upright images, on images turned by random multiples of 90° (exact
# rot90), and on images turned by random arbitrary angles (bilinear interpolation). Expect two
# effects: the G-CNN is blind to quarter turns, and it also learns more from few images (each
# filter serves in 4 poses); the CNN loses little to quarter turns because discs, squares and
# crosses look the same after one, while lines and triangles do not.

# %%
def train_and_compare(lesson):
    train, test = Shapes("train", n=4000 if lesson.fast else 24000), Shapes("test", n=1000 if lesson.fast else 4000)
    keep, keep_test = upright_mask(train.angles), upright_mask(test.angles)
    x, y, x_test, y_test = train.images[keep], train.labels[keep], test.images[keep_test], test.labels[keep_test]
    tests = {"upright": x_test, "quarter_turns": randomly_rotated(x_test, lesson.seed, True),
             "any_angle": randomly_rotated(x_test, lesson.seed, False)}
    models, accuracies = {}, {}
    for name, build in (("CNN", PlainCNN), ("G-CNN", P4GCNN)):
        torch.manual_seed(lesson.seed)
        model = build()
        fit(model, (x, y), epochs=10 if lesson.fast else 15, lr=1e-2, seed=lesson.seed, threads=1, description=name)
        models[name] = model
        accuracies[name] = {k: evaluate(model, (images, y_test))[1] for k, images in tests.items()}
        lesson.report(f"{name}_parameters", parameter_count(model), f"{name}: trainable weights")
        for k, value in accuracies[name].items():
            lesson.report(f"{name}_accuracy_{k}", value, f"{name} test accuracy, {k.replace('_', ' ')}")
    lesson.report("training_images", len(x), "upright training images")
    lesson.save(plot_rotation_accuracies(accuracies), "rotation_accuracies")
    gcnn = accuracies["G-CNN"]
    lesson.report("gcnn_quarter_turn_accuracy_drop", abs(gcnn["upright"] - gcnn["quarter_turns"]),
                  "G-CNN: |upright - 90°-rotated accuracy|", bound=0.01)
    lesson.report("gcnn_minus_cnn_rotated", gcnn["quarter_turns"] - accuracies["CNN"]["quarter_turns"],
                  "G-CNN minus CNN accuracy on 90°-rotated images", at_least=0.02)
    return models


# %% [markdown]
# ## Logits while the input turns through 360°
# Now turn one test image in small steps and watch both models' logits. The G-CNN's curves
# repeat exactly every 90°: at 0°, 90°, 180°, 270° the image is only a permutation of pixels
# and the network is built to ignore it. Between those angles interpolation makes a genuinely
# new image, so its logits move, but only a little. The CNN has no such structure anywhere.

# %%
def logits_under_rotation_step(lesson, models):
    shapes = Shapes("test", n=20, seed=lesson.seed)
    image, label = shapes[2]
    angles = torch.arange(0, 361, 10 if lesson.fast else 3).tolist()
    logits = {name: logits_under_rotation(model, image, angles) for name, model in models.items()}
    lesson.save(plot_logits_vs_angle(angles, logits["G-CNN"], logits["CNN"], CLASSES, CLASSES[label]), "logits_vs_angle")
    quarter = [angles.index(a) for a in (0, 90, 180, 270, 360)]
    spread = max_error(logits["G-CNN"][quarter], logits["G-CNN"][0])
    lesson.report("gcnn_logits_spread_at_90_multiples", spread,
                  "G-CNN: largest logit change between 0°, 90°, 180°, 270°, 360° (float32)")
    lesson.report("gcnn_logits_relative_spread_at_90_multiples", spread / logits["G-CNN"].abs().max().item(),
                  "the same, relative to the largest logit: float32 rounding only", bound=1e-5)
    lesson.report("gcnn_logits_spread_any_angle", max_error(logits["G-CNN"], logits["G-CNN"][0]),
                  "G-CNN: largest logit change over all angles (interpolated ones included)")
    lesson.report("cnn_logits_spread_at_90_multiples", max_error(logits["CNN"][quarter], logits["CNN"][0]),
                  "CNN: largest logit change between the 90° multiples", at_least=1e-3)


# %%
def main(argv=None):
    lesson = Lesson.start(__doc__, argv, __file__)
    for step in (translation_equivariance, rotation_groups, filter_bank, rotating_feature_maps, fused_kernels,
                 hue_group):
        step(lesson)
    models = train_and_compare(lesson)
    logits_under_rotation_step(lesson, models)
    return lesson.finish()


if __name__ == "__main__":
    main()
