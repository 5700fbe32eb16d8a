# %% [markdown]
# # 07 · Group convolution and equivariance
# A layer is equivariant when transforming its input transforms its output in a predictable way.
# Convolution is equivariant to shifts; this lesson builds layers that are also equivariant to
# quarter turns and mirror flips (the groups p4 and p4m), shows that such a layer is nothing but
# an ordinary convolution with tied weights, treats the hue of colours as a small group of its
# own, and compares a G-CNN with a plain CNN of the same size on turned images.

# %% tags=["parameters"]
fast = False  # True: the shipped models are loaded instead of retrained (what `--fast` and CI use)

# %%
try:  # before `pip install -e .` the course cannot be imported: say so in one line, not a traceback
    import course  # noqa: F401
except ModuleNotFoundError as missing:
    raise SystemExit(f"{missing}: install the course first, from its folder: "
                     "pip install -r requirements.txt && pip install -e .") from None
import torch
import torch.nn.functional as F

import kernels
from course.analysis.hue_rotation import hue_rotation_matrix
from course.chapters.group_convolution import (colour_contrast_filter, cycle_hue, group_agreement, group_law_errors,
                                               group_measure, hue_group_errors, hue_half_turn_vs_spatial_half_turn,
                                               first_change_angles, first_correct, hue_lift_equivariance_error,
                                               layer_equivariance_errors,
                                               logits_under_rotation, prediction_change_angle, predictions_by_angle,
                                               randomly_rotated, shift_and_turn_errors, upright_test_images)
from course.data.shapes import CLASSES, Shapes
from course.figures.group_convolution import (plot_accuracy_by_angle, plot_filter_bank, plot_logits_vs_angle,
                                              plot_rotating_feature_maps, plot_rotation_accuracies)
from course.models import RECIPES, TOLERANCE, load_shipped, parameter_count, train_recipe
from course.runtime.cpp_extension import cpp_extension_built
from course.runtime.lesson import Lesson
from course.runtime.train import evaluate
from kernels.group_reference import expand_lift_filters
from kernels.groups import P4, P4M

lesson = Lesson.start("07_group_convolution", fast=fast)

# %% [markdown]
# ## Equivariance: transform, then compute = compute, then transform
# A layer f is equivariant to a transformation T when f(Tx) = T′f(x): moving the input moves
# the output in a predictable way T′. Convolution is the standard example: shift an image and
# its feature map shifts by the same amount. With circular ("wrap-around") padding this holds
# exactly at every pixel; with zero padding it holds away from the borders. The same filter is
# not equivariant to a quarter turn: a fixed filter sees a turned image differently.

# %%
errors = shift_and_turn_errors(lesson.seed)
lesson.report("translation_equivariance_error", errors["shift"],
              "circular conv: conv(shift x) vs shift(conv x), float32", bound=1e-5, kind="tool")
lesson.report("rotation_breaks_plain_conv", errors["turn"],
              "the same conv is NOT rotation-equivariant: conv(rot x) vs rot(conv x)", at_least=0.1, kind="tool")

# %% [markdown]
# ## Rotations by 90° and flips form groups
# The 4 quarter turns form the group p4; adding a mirror flip gives the 8 elements of p4m.
# "Group" means: doing one element after another is again an element (a multiplication table),
# there is a do-nothing element, and every element can be undone. We check that the table in
# `kernels.groups` agrees with what the transformations actually do to an image.

# %%
image = torch.randn(1, 1, 7, 7, generator=torch.Generator().manual_seed(lesson.seed))
for group in (P4, P4M):
    laws = group_law_errors(group, image)
    lesson.report(f"{group.name}_table_error", laws["table"], f"{group.name}: act(g, act(h, x)) vs act(g·h, x), all pairs",
                  bound=0, kind="tool")
    lesson.report(f"{group.name}_inverse_error", laws["inverse"], f"{group.name}: every element undone by its inverse",
                  bound=0, kind="tool")

# %% [markdown]
# ## Group convolution is weight tying
# A p4 lifting layer does not learn 4 filters per output channel; it learns one and uses it in
# all 4 rotations (8 poses for p4m, with the flip). This is the weight-sharing map of lesson 02:
# the expanded bank is a fixed function of the few free weights, and its gradient adds up over
# the tied copies. One `F.conv2d` with the expanded bank is the whole layer.

# %%
w = torch.tensor([[1.0, 0.8, 0.0], [0.9, -0.2, -0.6], [0.0, -0.3, -1.0]]) * torch.tensor([1.0, 0.5, 0.2])
bank = expand_lift_filters(w[None, None], P4M)[:, 0]  # (8, 3, 3)
lesson.show(plot_filter_bank(bank, "p4m"), "filter_bank")
lesson.report("p4m_bank_copies", bank.shape[0], "filters in the tied p4m bank of one learned 3×3 filter")
lesson.report("bank_vs_transformed_filter", max((bank[g] - P4M.act_on_image(w, g)).abs().max().item() for g in P4M.elements),
              "row g of the bank is w under element g (flip first if g >= 4, then g mod 4 quarter turns)",
              bound=0, kind="tool")
x = torch.randn(2, 1, 12, 12, generator=torch.Generator().manual_seed(lesson.seed))
tied = F.conv2d(x, expand_lift_filters(w[None, None], P4), padding=1).reshape(2, 1, 4, 12, 12)
lesson.report("lift_is_conv_with_bank", (kernels.p4_lift(x, w[None, None], padding=1) - tied).abs().max(),
              "p4_lift vs F.conv2d with the expanded bank", bound=1e-6, kind="tool")

# %% [markdown]
# ## Rotate the input: the maps rotate and cycle along the group axis
# Lifting gives each channel a new group axis: one map per pose of the filter. Turn the input by
# 90° and every map turns by 90° too, and moves one step along that axis, because the pose that
# matched before is now matched by the next pose. Group convolutions keep this law layer after
# layer; we check it for every group element, for p4 and p4m, lift and group conv.

# %%
shapes = Shapes("test", n=20, seed=lesson.seed)
triangle = shapes.images[shapes.labels == CLASSES.index("triangle")][:1]  # no 90° symmetry
edge = torch.tensor([[[[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]]])  # a "bright below" edge
turned = torch.rot90(triangle, 1, (-2, -1))
maps, turned_maps = (torch.relu(kernels.p4_lift(image, edge, padding=1)) for image in (triangle, turned))
lesson.show(plot_rotating_feature_maps(triangle[0, 0], turned[0, 0], maps[0, 0], turned_maps[0, 0]),
            "rotating_feature_maps")
generator = torch.Generator().manual_seed(lesson.seed)
x = torch.randn(2, 3, 15, 15, generator=generator)
for group, lift, conv in ((P4, kernels.p4_lift, kernels.p4_conv), (P4M, kernels.p4m_lift, kernels.p4m_conv)):
    errors = layer_equivariance_errors(group, lift, conv, x, generator)
    lesson.report(f"{group.name}_lift_equivariance_error", errors["lift"],
                  f"{group.name} lift(u·x) vs u·lift(x), every u, float32", bound=1e-5, kind="tool")
    lesson.report(f"{group.name}_conv_equivariance_error", errors["conv"],
                  f"{group.name} conv(u·f) vs u·conv(f), every u, float32", bound=1e-5, kind="tool")

# %% [markdown]
# ## Fused kernels: the expanded bank need never exist
# The reference above builds the expanded filter bank (G copies of every filter) and hands it to
# one ordinary convolution. The fused kernels in `kernels/` (C++ and Triton; CUDA on a GPU) skip
# that copy: when they need tap (u, v) of copy g they compute which stored weight it is, and in
# the backward pass they add the gradients of the G tied copies straight into the one stored
# filter. They must agree with the reference, gradients included, before their speed means anything.

# %%
for backend in ("triton", "cpp", "cuda"):
    if backend == "cpp" and lesson.fast and not cpp_extension_built():  # asking about cpp would build it
        available, why = False, "not run with --fast: its extension is not built yet (it builds on first use)"
    else:
        available, why = kernels.group_backends([backend])[backend]
    if not available:
        print(f"    {backend}: not run here ({why})")
        continue
    lesson.report(f"{backend}_fused_p4m_conv_error", group_agreement(backend),
                  f"fused {backend} vs expanded-filter reference, output and all gradients (float64, relative)",
                  bound=1e-10, kind="tool")
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
# Cycle the colour channels R→G→B→R: three steps give the identity, so this is an exact group of
# order 3 acting on colour images. A hue-lifting layer uses each filter in its 3 cyclic colourings
# and is equivariant: cycling the input's colours rolls the hue axis. The cycle is the 120° member
# of rotating colours about the grey axis. A half-turn of hue (180°) sends each colour contrast to
# its opposite, so a "colour A left, colour B right" unit becomes a "B left, A right" unit, the
# same as turning it by 180°. Limits: that is exact only for pure contrasts (no brightness part)
# with an odd spatial layout; 180° is not in the order-3 channel-cycling group; and a real
# network's hue families are only approximately related.

# %%
generator = torch.Generator().manual_seed(lesson.seed)
colours = torch.rand(2, 3, 12, 12, generator=generator)
laws = hue_group_errors(colours)
lesson.report("hue_cycle_order3_error", laws["order_3"], "cycling RGB 3 times is the identity", bound=0, kind="tool")
lesson.report("hue_cycle_closure_error", laws["closure"], "cycle(a) then cycle(b) = cycle(a+b), all pairs", bound=0,
              kind="tool")
lesson.report("hue_lift_equivariance_error",
              hue_lift_equivariance_error(colours, torch.randn(4, 3, 3, 3, generator=generator)),
              "hue lift(cycle x) vs hue axis rolled, float32", bound=1e-5, kind="tool")
permutation = cycle_hue(torch.eye(3, dtype=torch.float64)[:, :, None, None], 1)[..., 0, 0].T
lesson.report("hue_120_is_channel_cycle", (hue_rotation_matrix(120.0) - permutation).abs().max(),
              "rotating colours 120° about grey = the RGB cycle", bound=1e-12, kind="tool")
lesson.report("hue_180_contrast_vs_spatial_180",
              hue_half_turn_vs_spatial_half_turn(colour_contrast_filter([1.0, -0.5, -0.5])),
              "red-vs-cyan edge filter: hue +180° = spatial 180°", bound=1e-12, kind="tool")
lesson.report("hue_180_with_brightness_part",
              hue_half_turn_vs_spatial_half_turn(colour_contrast_filter([1.0, 0.0, 0.0])),
              "the same with a red-vs-black filter (has brightness): the relation fails", at_least=0.1, kind="tool")

# %% [markdown]
# ## A G-CNN against a CNN on turned shapes
# Both models have about the same number of weights and the same layout; the G-CNN ends with a
# max over the group axis and over space, so its output cannot change when the input turns by
# 90°. Both were trained to convergence on "upright" shapes only (drawn within ±22.5° of the
# reference pose, modulo 180°): `--fast` loads the shipped checkpoints, the full run retrains
# them from scratch (`python -m course train upright`) and compares. We test on upright images,
# on images turned by random multiples of 90° (exact rot90), and by random angles (bilinear
# interpolation). Both recognise upright shapes; only the G-CNN is blind to quarter turns.
# Discs, squares and crosses look the same after a quarter turn, lines and triangles do not.

# %%
x_test, y_test = upright_test_images(4000, seed=0)  # the recipes' test set, upright images only
tests = {"upright": x_test, "quarter_turns": randomly_rotated(x_test, lesson.seed, True),
         "any_angle": randomly_rotated(x_test, lesson.seed, False)}
models, accuracies = {}, {}
for label, name in (("CNN", "upright_cnn"), ("G-CNN", "upright_gcnn")):
    model, metadata = load_shipped(name)
    if not lesson.fast:  # retrain from nothing with the same recipe, and compare with the shipped model
        shipped = metadata["metrics"]["test_accuracy"]
        model, metadata = train_recipe(RECIPES[name], progress=False)
        lesson.report(f"{label}_retrained_minus_shipped", metadata["metrics"]["test_accuracy"] - shipped,
                      f"{label}: retrained vs shipped upright test accuracy", bound=TOLERANCE, at_least=-TOLERANCE)
    models[label] = model
    accuracies[label] = {k: evaluate(model, (images, y_test))[1] for k, images in tests.items()}
    lesson.report(f"{label}_parameters", parameter_count(model), f"{label}: trainable weights")
    for k, value in accuracies[label].items():  # upright: both must have learned the task
        lesson.report(f"{label}_accuracy_{k}", value, f"{label} test accuracy, {k.replace('_', ' ')}",
                      at_least=0.95 if k == "upright" else None)
lesson.report("training_images", metadata["metrics"]["train_images"],
              f"upright training images, {metadata['training']['epochs']} epochs")
lesson.report("test_images", len(y_test), "upright test images")
lesson.show(plot_rotation_accuracies(accuracies), "rotation_accuracies")
gcnn, cnn = accuracies["G-CNN"], accuracies["CNN"]
lesson.report("gcnn_quarter_turn_accuracy_drop", abs(gcnn["upright"] - gcnn["quarter_turns"]),
              "G-CNN: |upright - 90°-rotated accuracy| (0 by construction, up to float ties)", bound=0.01, kind="tool")
lesson.report("gcnn_minus_cnn_rotated", gcnn["quarter_turns"] - cnn["quarter_turns"],
              "G-CNN minus CNN accuracy on 90°-rotated images", at_least=0.02)
lesson.report("cnn_upright_minus_quarter_turns", cnn["upright"] - cnn["quarter_turns"],
              "what quarter turns cost the CNN")

# %% [markdown]
# ## Accuracy at every angle
# Turn the upright test images (all of them; the first 250 with `--fast`) by the same angle, from
# 0° to 360°, and measure both models' accuracy at each angle. At 90°, 180° and 270° the G-CNN's accuracy must equal its upright
# accuracy exactly: the turned image is only a permutation of pixels. In between, interpolation
# makes genuinely new images that neither model was trained on or built for, and both lose accuracy.

# %%
angles = list(range(0, 361, 15 if lesson.fast else 5))
quarter = [angles.index(a) for a in (0, 90, 180, 270, 360)]
between = [i for i, a in enumerate(angles) if a % 90]
count = 250 if lesson.fast else len(y_test)
by_angle = {}
for label, model in models.items():
    guesses = predictions_by_angle(model, x_test[:count], angles)
    by_angle[label] = (guesses == y_test[:count]).float().mean(dim=1)
    lesson.record(f"{label}_accuracy_by_angle", {"angles": angles, "accuracy": by_angle[label]})
    worst = int(by_angle[label].argmin())
    lesson.report(f"{label}_accuracy_worst_angle", by_angle[label][worst],
                  f"{label}: lowest accuracy over the angles, at {angles[worst]}°")
    lesson.report(f"{label}_share_changing_between_quarter_turns",
                  (guesses[between] != guesses[0]).any(dim=0).float().mean(),
                  f"{label}: share of {count} test images whose predicted class changes at an angle between the "
                  f"90° multiples")
    first = first_change_angles(guesses, angles)
    lesson.report(f"{label}_median_first_change_deg", first.nanmedian() if first.isfinite().any() else None,
                  f"{label}: over the images whose class changes, the median angle where it first does")
lesson.report("gcnn_accuracy_spread_at_90_multiples", by_angle["G-CNN"][quarter].max() - by_angle["G-CNN"][quarter].min(),
              "G-CNN: accuracy at 0°, 90°, 180°, 270°, 360°: max - min", bound=0.002, kind="tool")
lesson.show(plot_accuracy_by_angle(angles, by_angle), "accuracy_vs_angle")

# %% [markdown]
# ## Logits while one image turns through 360°
# Now turn one upright test triangle, one that both models classify correctly, in 2° steps and
# watch both models' logits (the scores before the softmax). Three things are measured. At 0°,
# 90°, 180° and 270° the G-CNN's logits agree up to float32 rounding: the group's own turns only
# permute pixels. Between those angles its logits move, and we report by how much, absolutely and
# relative to the largest logit: interpolation makes new images, about which the architecture
# promises nothing. And we report the first angle at which another class wins, for this image
# and, above, over the test images. The CNN's logits repeat at no angle.

# %%
example = first_correct(models.values(), x_test, y_test, CLASSES.index("triangle"))
image, label = x_test[example], int(y_test[example])
angles = list(range(0, 361, 2))
quarter = [angles.index(a) for a in (0, 90, 180, 270, 360)]
logits = {name: logits_under_rotation(model, image, angles) for name, model in models.items()}
changes = {name: prediction_change_angle(values, angles) for name, values in logits.items()}
lesson.show(plot_logits_vs_angle(angles, logits["G-CNN"], logits["CNN"], CLASSES, CLASSES[label],
                                 (changes["G-CNN"], changes["CNN"])), "logits_vs_angle")
gcnn_logits, largest = logits["G-CNN"], logits["G-CNN"].abs().max().item()
spread = (gcnn_logits[quarter] - gcnn_logits[0]).abs().max().item()
relative_spread = spread / largest
lesson.report("gcnn_logits_spread_at_90_multiples", spread,
              "G-CNN: largest logit change between 0°, 90°, 180°, 270°, 360° (float32)")
lesson.report("gcnn_logits_relative_spread_at_90_multiples", relative_spread,
              "the same, relative to the largest logit: float32 rounding only", bound=1e-5, kind="tool")
lesson.report("gcnn_logits_spread_any_angle", (gcnn_logits - gcnn_logits[0]).abs().max(),
              "G-CNN: largest logit change over all angles (interpolated ones included)")
lesson.report("gcnn_logits_relative_spread_any_angle", (gcnn_logits - gcnn_logits[0]).abs().max() / largest,
              "the same, relative to the largest logit")
lesson.report("gcnn_logit_range", gcnn_logits[0].max() - gcnn_logits[0].min(),
              "G-CNN at 0°: highest minus lowest logit (for scale)")
lesson.report("cnn_logits_spread_at_90_multiples", (logits["CNN"][quarter] - logits["CNN"][0]).abs().max(),
              "CNN: largest logit change between the 90° multiples", at_least=1e-3)
for name, angle in changes.items():
    lesson.report(f"{name}_prediction_changes_at_deg", angle,
                  f"{name}: first angle where another class wins ({CLASSES[int(logits[name][0].argmax())]} at 0°;"
                  f" None: never)")
moved = (gcnn_logits - gcnn_logits[0]).abs().max().item()
at = {name: "no angle" if angle is None else f"{angle:.0f}°" for name, angle in changes.items()}
print(f"    Measured: the G-CNN's logits for this {CLASSES[label]} agree at the quarter turns to {relative_spread:.1e} "
      f"of the largest logit; in between they move by up to {moved:.1f} ({moved / largest:.0%} of the largest "
      f"logit); another class first wins at {at['G-CNN']} for the G-CNN and at {at['CNN']} for the CNN.")

# %% [markdown]
# ## What this shows, and what it does not
# The source texts' statements that this lesson measures, and how far its own numbers support them.
# A G-CNN is built to be invariant to its group, so the exact invariance at quarter turns is a
# property of the architecture, not a finding; what the trained pair adds is that a model of the
# same size without that structure does not get it from upright images alone.

# %%
source = "Distill, 'Naturally Occurring Equivariance in Neural Networks'"
lesson.claim("conv_translation_equivariant", source=f"{source}, introduction (translation and conv nets)",
             claim="convolution commutes with shifts (ignoring pooling and stride); a fixed filter does not commute "
                   "with turns",
             status="constructed only", evidence=["translation_equivariance_error", "rotation_breaks_plain_conv"],
             note="random weights and circular padding: a property of the operation, shown, not discovered")
lesson.claim("group_conv_ties_weights", source=f"{source}, §Equivariant Architectures (group convolutions)",
             claim="a group convolution gives the weight tying that makes a layer equivariant to a group",
             status="constructed only",
             evidence=["lift_is_conv_with_bank", "p4_lift_equivariance_error", "p4m_conv_equivariance_error"],
             note="checked on random weights for every element of p4 and p4m")
invariant = relative_spread <= 1e-5 and abs(gcnn["upright"] - gcnn["quarter_turns"]) <= 0.01
generalises = invariant and gcnn["quarter_turns"] - cnn["quarter_turns"] >= 0.02 and cnn["upright"] >= 0.95
lesson.claim("designed_equivariance_generalises", source=f"{source}, §Equivariant Architectures",
             claim="building the transformed copies into the architecture spares the network learning them: "
                   "trained on upright shapes, the G-CNN keeps its accuracy under quarter turns, the CNN does not",
             status="reproduced" if generalises else "not reproduced",
             evidence=["CNN_accuracy_upright", "CNN_accuracy_quarter_turns", "G-CNN_accuracy_quarter_turns",
                       "gcnn_minus_cnn_rotated", "gcnn_logits_relative_spread_at_90_multiples"],
             note="one training seed per model; exact only for the group's own turns: between quarter turns both "
                  "models lose accuracy (G-CNN_accuracy_worst_angle, CNN_accuracy_worst_angle)")
lesson.claim("hue_half_turn_is_spatial_half_turn", source=f"{source}, §Hue-Rotation Equivariance",
             claim="turning hue by 180° swaps the two colours of a colour-contrast unit, the same as turning it by 180°",
             status="constructed only", evidence=["hue_180_contrast_vs_spatial_180", "hue_180_with_brightness_part"],
             note="hand-built filters; exact only without a brightness part (the second number)")

# %% [markdown]
# ## References
# - Olah, Cammarata, Voss, Schubert, Goh (2020), "Naturally Occurring Equivariance in Neural
#   Networks", Distill: introduction (equivariance, translation in conv nets), §Hue-Rotation
#   Equivariance, §Equivariant Architectures (group convolution as weight tying).
# - LeCun & Canziani, NYU Deep Learning (2020), lecture notes "Visualization of neural networks,
#   parameter transformation and fundamental concepts of convolution": §Parameter
#   transformations (weight sharing), §Motif detection in images (shift invariance).
# - Cohen & Welling (2016), "Group Equivariant Convolutional Networks", ICML: p4 and p4m group
#   convolutions, lifting, group pooling.
# - Dieleman, De Fauw, Kavukcuoglu (2016), "Exploiting Cyclic Symmetry in Convolutional Neural
#   Networks", ICML: the same idea for quarter turns by rotating and pooling feature maps.

# %%
summary = lesson.finish()
