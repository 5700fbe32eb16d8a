"""Motif detection
One small detector, the same weights at every position, and a max (or a count) over
positions: it finds a motif in a sequence wherever it is, its gradient is the sum of the
windows' gradients, and on images it tells "C" from "D" at every shift.
"""

# %%
import copy

import torch
import torch.nn.functional as F

from course.analysis.similarity import cosine_similarity
from course.chapters.motif_detection import (CORNER_TEMPLATES, CORNER_THRESHOLD, DenseNet, ENDPOINT_TEMPLATES,
                                             ENDPOINT_THRESHOLD, MotifDetector, MultiStartDetector, TemplateNet,
                                             accuracy_by_offset, classify_c_or_d, logit_spread_over_shifts, motif_score,
                                             predictions, raw_responses, sgd_steps, sliding_windows, template_responses,
                                             tied_gradient_check)
from course.data.letters import GRID, LETTERS, every_shift, glyph, place
from course.data.motif_sequences import default_motif, motif_sequences
from course.figures.motif_detection import (plot_learned_motif, plot_letter_templates, plot_motif_sequences,
                                            plot_shift_invariance, plot_template_net, plot_window_gradients,
                                            plot_zero_grad)
from course.runtime.lesson import Lesson
from course.runtime.train import fit

LENGTH = 48  # samples per sequence


def sequences(lesson, count, seed_offset, dtype=torch.float32):
    """The lesson's motif data set: `count` sequences, a seed of their own per use."""
    return motif_sequences(count, LENGTH, default_motif(), seed=lesson.seed + seed_offset, dtype=dtype)


def letter_example(name, row, col):
    """A 6x5 letter placed at (row, col), its endpoint and corner maps (thresholded and raw), its verdict."""
    image = place(glyph(name, 6, 5), row, col)
    return dict(name=name, image=image, verdict=LETTERS[classify_c_or_d(image)],
                endpoint_maps=template_responses(image, ENDPOINT_TEMPLATES, ENDPOINT_THRESHOLD),
                corner_maps=template_responses(image, CORNER_TEMPLATES, CORNER_THRESHOLD),
                endpoint_raw=raw_responses(image, ENDPOINT_TEMPLATES), corner_raw=raw_responses(image, CORNER_TEMPLATES))


# %% [markdown]
# ## A motif somewhere in a sequence
# A motif is a short pattern (a sound in speech, a word in text) that may occur anywhere.
# Our sequences are noise with one length-7 pattern added at a random place: the motif
# (class 1) or a decoy with the same energy but another shape (class 0). A detector looks
# at every window of 7 samples with the *same* weights w, scores each window by its dot
# product with w, and keeps the best score. That is exactly a 1-D cross-correlation
# followed by a max over positions.

# %%
def motif_data(lesson):
    data = sequences(lesson, 200, 0, dtype=torch.float64)
    motif = default_motif(torch.float64)
    lesson.save(plot_motif_sequences(data.x, data.labels, data.positions, motif), "motif_sequences")
    windows = sliding_windows(data.x, len(motif))
    scores, _ = motif_score(data.x, motif)
    as_conv = F.conv1d(data.x[:, None], motif[None, None])[:, 0].max(dim=1).values
    lesson.report("windows_per_sequence", windows.shape[1], f"length-7 windows in a length-{LENGTH} sequence: 48 - 7 + 1",
                  bound=42, at_least=42)
    lesson.report("detector_vs_conv1d_max", (scores - as_conv).abs().max().item(),
                  "shared detector + max == F.conv1d + max over positions (float64)", bound=1e-12)


# %% [markdown]
# ## Training the detector: its weights become the motif
# We learn w and a bias b from labelled sequences (logit = max score + b). A max-pooled
# detector has a trap: it can lock onto *part* of the motif, its weights shifted by a few
# taps, and stay there (a local optimum). So we train many starting points side by side
# (as cheap as one) and keep the one with the lowest training loss. Its weights, compared
# by cosine similarity, are the motif; and the window where its max lands is where the
# motif actually sits.

# %%
def train_detector(lesson):
    train, test = sequences(lesson, 600 if lesson.fast else 2000, 1), sequences(lesson, 1000, 2)
    starts = 32
    torch.manual_seed(lesson.seed)
    bank = MultiStartDetector(len(default_motif()), starts)
    fit(bank, (train.x, train.labels[:, None].expand(-1, starts)), epochs=8 if lesson.fast else 15,
        lr=0.05, seed=lesson.seed, description="motif detectors")
    detector = bank.best(train.x, train.labels)
    cosines = [cosine_similarity(w, default_motif()) for w in bank.weight.detach()]
    with torch.no_grad():
        accuracy = (detector(test.x).argmax(dim=1) == test.labels).double().mean().item()
        scores, where = motif_score(test.x, detector.weight)
    present = test.labels == 1
    found_at = (where[present] == test.positions[present]).double().mean().item()
    fig = plot_learned_motif(default_motif(), detector.weight.detach(), cosines, bank.losses(train.x, train.labels),
                             scores[present], scores[~present], -detector.bias.item())
    lesson.save(fig, "learned_motif")
    lesson.report("starts_that_found_the_motif", sum(c > 0.9 for c in cosines),
                  f"of {starts} starts, those whose weights have cosine > 0.9 with the motif")
    lesson.report("learned_motif_cosine", cosine_similarity(detector.weight.detach(), default_motif()),
                  "cosine(learned w, motif) of the kept start", at_least=0.9)
    lesson.report("motif_test_accuracy", accuracy, "motif vs decoy on 1000 test sequences", at_least=0.85)
    lesson.report("motif_located", found_at, "positives where the max lands exactly on the motif's start", at_least=0.9)


# %% [markdown]
# ## Shared weights add up their windows' gradients
# Give every window i its own copy w_i of the weights, all equal to w: the network
# computes the same loss, and autograd reports one gradient per copy. The gradient of
# the shared w is then their sum, dC/dw = Σ_i dC/dw_i: every use of a weight adds its
# share. With a max, only the winning window of each sequence gets a share.

# %%
def gradient_is_a_sum(lesson):
    torch.manual_seed(lesson.seed)
    detector = MotifDetector(len(default_motif())).double()  # any weights will do: the identity is exact
    batch = sequences(lesson, 64, 3, dtype=torch.float64)
    check = tied_gradient_check(detector, batch.x, batch.labels)
    lesson.save(plot_window_gradients(check.per_window, check.shared), "window_gradients")
    lesson.report("tied_gradient_error", check.max_error,
                  "max |dC/dw - Σ_i dC/dw_i| over taps (float64, 64 sequences)", bound=1e-6)
    lesson.report("windows_with_gradient", int((check.per_window.abs().sum(dim=1) > 0).sum()),
                  "window positions that won the max in at least one sequence (of 42)")


# %% [markdown]
# ## Forgetting zero_grad
# `backward()` does not overwrite `.grad`, it *adds* to it: that is how the windows'
# gradients get summed. Between two optimiser steps, though, the old gradient must be
# cleared with `zero_grad()`. Forget it and step 2 uses g1 + g2 instead of g2, step 3
# uses g1 + g2 + g3, and so on: each step repeats all earlier ones, and the steps grow
# longer and longer while the current batch has less and less say.

# %%
def forgetting_zero_grad(lesson):
    lr, count = 0.1, 8 if lesson.fast else 20
    batches = [(b.x, b.labels) for b in (sequences(lesson, 32, 10 + i, dtype=torch.float64) for i in range(count))]
    torch.manual_seed(lesson.seed)
    start = MotifDetector(len(default_motif())).double()
    right = sgd_steps(copy.deepcopy(start), batches, lr, zero_grad=True)
    wrong = sgd_steps(copy.deepcopy(start), batches, lr, zero_grad=False)
    lesson.save(plot_zero_grad(right, wrong, lr), "zero_grad")
    stale = (wrong[1].update - right[1].update - (-lr * right[0].batch_gradient)).abs().max().item()
    summed = max((s.gradient - sum(t.batch_gradient for t in wrong[: i + 1])).abs().max().item() for i, s in enumerate(wrong))
    print(f"    step 2 update, right: {[round(v, 4) for v in right[1].update.tolist()]}")
    print(f"    step 2 update, wrong: {[round(v, 4) for v in wrong[1].update.tolist()]}")
    lesson.report("stale_gradient_error", stale, "wrong step-2 update - right one == -lr * g1, the stale gradient",
                  bound=1e-12)
    lesson.report("accumulated_gradient_error", summed, "without zero_grad, .grad at step t == g1 + ... + gt",
                  bound=1e-12)
    lesson.report("step2_update_norms", [right[1].update.norm().item(), wrong[1].update.norm().item()],
                  "|Δw| at step 2: [with zero_grad, without]")
    ratio = wrong[-1].update.norm().item() / right[-1].update.norm().item()
    lesson.report("last_update_norm_ratio", ratio, f"|Δw| without / with zero_grad at step {count}", at_least=2)


# %% [markdown]
# ## Images: "C" or "D"?
# The same idea in two dimensions. A C has two stroke *endpoints* (the open right side);
# a D has two sharp *corners* (top-left and bottom-left). A template is a 3×3 picture of
# such a feature: +1 where it wants ink, −1 where it wants none. Slid over the image, it
# reaches its maximum only where the window is its picture, so thresholding at that
# maximum marks the features. Summing the marks counts them: two endpoints → C, two
# corners → D.

# %%
def letter_templates(lesson):
    letters = [letter_example(name, 4, 4) for name in LETTERS]
    lesson.save(plot_letter_templates(ENDPOINT_TEMPLATES, CORNER_TEMPLATES, letters), "letter_templates")
    for letter in letters:
        counts = [int(letter["endpoint_maps"].sum()), int(letter["corner_maps"].sum())]
        lesson.report(f"{letter['name']}_endpoints_corners", counts, f"[endpoints, corners] found on the {letter['name']}")


# %% [markdown]
# ## Shift invariance: every position, the same answer
# The templates use the same weights at every position, so moving the letter moves the
# response maps with it (the maps are shift-*equivariant*), while the counts, and hence
# the decision, stay the same (shift-*invariant*). We check it exhaustively: both letters,
# four sizes, at every position where they fit on the 14×14 grid.

# %%
def shift_invariance(lesson):
    family = every_shift()
    verdicts = torch.tensor([classify_c_or_d(image[0]) for image in family.images])
    here, there = letter_example("D", 2, 1), letter_example("D", 6, 7)
    equivariance = max((torch.roll(here[key], (4, 6), dims=(-2, -1)) - there[key]).abs().max().item()
                       for key in ("endpoint_maps", "corner_maps"))
    examples = [[letter_example(name, row, col) for row, col in ((0, 0), (4, 6), (8, 2))] for name in LETTERS]
    lesson.save(plot_shift_invariance(examples, GRID), "shift_invariance")
    lesson.report("letter_images", len(family), "C and D, 4 sizes, every position on a 14x14 grid")
    lesson.report("hand_built_accuracy_all_shifts", (verdicts == family.labels).double().mean().item(),
                  "endpoint/corner counting, accuracy over every shift", bound=1.0, at_least=1.0)
    lesson.report("response_map_shift_error", equivariance,
                  "maps of a D moved by (4, 6) == its maps moved by (4, 6)", bound=0)


# %% [markdown]
# ## Learning the templates instead
# Hand-built templates do not scale to real images. A tiny conv net learns its own:
# conv (4 kernels of 3×3) → ReLU → global max over positions → linear → C or D. We train
# it only on letters near the top-left corner and test it at every position. Weight
# sharing plus the global max make it shift-invariant by construction; a dense net that
# sees the same pixels, with a separate weight per pixel, has no reason to be.

# %%
def learned_templates(lesson):
    family = every_shift()
    images = family.images.float()
    seen = (family.offsets[:, 0] < 4) & (family.offsets[:, 1] < 4)
    train = (images[seen], family.labels[seen])
    torch.manual_seed(lesson.seed)
    net = TemplateNet(channels=4)
    fit(net, train, epochs=25 if lesson.fast else 40, lr=0.03, batch_size=32, seed=lesson.seed, description="conv net")
    torch.manual_seed(lesson.seed)
    dense = DenseNet(GRID * GRID)
    fit(dense, train, epochs=25 if lesson.fast else 40, lr=0.01, batch_size=32, seed=lesson.seed, description="dense net")
    conv_right = predictions(net, images) == family.labels
    dense_right = predictions(dense, images) == family.labels
    groups = family.labels * 100 + family.sizes[:, 0] * 10 + family.sizes[:, 1]  # one glyph per group
    with torch.no_grad():
        letters = [(name, place(glyph(name, 6, 5), 5, 6), net.response_maps(place(glyph(name, 6, 5), 5, 6)[None, None].float())[0])
                   for name in LETTERS]
    accuracy_maps = {"conv net": accuracy_by_offset(conv_right, family.offsets),
                     "dense net": accuracy_by_offset(dense_right, family.offsets)}
    fig = plot_template_net(net.conv.weight.detach()[:, 0], net.readout.weight.detach(), letters, accuracy_maps, (4, 4))
    lesson.save(fig, "learned_templates")
    lesson.report("conv_net_training_images", int(seen.sum()), "letters placed at row and column offsets 0..3 only")
    lesson.report("conv_net_accuracy_all_shifts", conv_right.double().mean().item(),
                  "conv → ReLU → global max → linear, accuracy over every shift", at_least=0.95)
    lesson.report("conv_net_logit_spread", logit_spread_over_shifts(net, images, groups),
                  "largest change of its logits when a glyph moves anywhere", bound=1e-4)
    lesson.report("dense_net_accuracy_all_shifts", dense_right.double().mean().item(),
                  "a dense net trained on the same images, accuracy over every shift")
    lesson.report("dense_net_accuracy_unseen_shifts", dense_right[~seen].double().mean().item(),
                  "the dense net on positions it never saw: no weight sharing, no invariance", bound=0.8)


# %%
def main(argv=None):
    lesson = Lesson.start(__doc__, argv, __file__)
    for step in (motif_data, train_detector, gradient_is_a_sum, forgetting_zero_grad, letter_templates,
                 shift_invariance, learned_templates):
        step(lesson)
    return lesson.finish()


if __name__ == "__main__":
    main()
