# %% [markdown]
# # 03 · Motif detection with shared detectors
# One small detector, the same weights at every position, and a max (or a count) over
# positions: it finds a motif in a sequence wherever it is, its gradient is the sum of the
# windows' gradients, and on images it tells "C" from "D" at every shift.

# %% tags=["parameters"]
fast = False  # True: fewer training sequences and epochs, seconds instead of a minute (what `--fast` and CI use)

# %%
try:  # before `pip install -e .` the course cannot be imported: say so in one line, not a traceback
    import course  # noqa: F401
except ModuleNotFoundError as missing:
    raise SystemExit(f"{missing}: install the course first, from its folder: "
                     "pip install -r requirements.txt && pip install -e .") from None
import copy

import torch
import torch.nn.functional as F

from course.analysis.similarity import cosine_similarity
from course.chapters.motif_detection import (CORNER_TEMPLATES, ENDPOINT_TEMPLATES, DenseNet, MotifDetector,
                                             MultiStartDetector, TemplateNet, accuracy_by_offset, classify_c_or_d,
                                             letter_example, logit_spread_over_shifts, motif_score, predictions,
                                             sgd_steps, sliding_windows, tied_gradient_check)
from course.data.letters import GRID, LETTERS, every_shift, glyph, place
from course.data.motif_sequences import default_motif, motif_sequences
from course.figures.motif_detection import (plot_learned_motif, plot_letter_templates, plot_motif_sequences,
                                            plot_shift_invariance, plot_template_net, plot_window_gradients,
                                            plot_zero_grad)
from course.runtime.lesson import Lesson
from course.runtime.train import fit

lesson = Lesson.start("03_motif_detection", fast=fast)
LECTURE = ("NYU lecture 'Visualization of neural networks, parameter transformation and fundamental concepts "
           "of convolution'")
LENGTH = 48  # samples per sequence
motif = default_motif()


def sequences(count, seed_offset, dtype=torch.float32):
    """The lesson's motif data set: `count` sequences, a seed of their own per use."""
    return motif_sequences(count, LENGTH, default_motif(), seed=lesson.seed + seed_offset, dtype=dtype)


# %% [markdown]
# ## A motif somewhere in a sequence
# A motif is a short pattern (a sound in speech, a word in text) that may occur anywhere.
# Our sequences are noise with one length-7 pattern added at a random place: the motif
# (class 1) or a decoy with the same energy but another shape (class 0). A detector looks
# at every window of 7 samples with the *same* weights w, scores each window by its dot
# product with w, and keeps the best score. That is exactly a 1-D cross-correlation
# followed by a max over positions.

# %%
data = sequences(200, 0, dtype=torch.float64)
motif64 = default_motif(torch.float64)
lesson.show(plot_motif_sequences(data.x, data.labels, data.positions, motif64), "motif_sequences")
windows = sliding_windows(data.x, len(motif64))
scores, _ = motif_score(data.x, motif64)
as_conv = F.conv1d(data.x[:, None], motif64[None, None])[:, 0].max(dim=1).values
lesson.report("windows_per_sequence", windows.shape[1], f"length-7 windows in a length-{LENGTH} sequence: 48 - 7 + 1",
              bound=42, at_least=42, kind="tool")
lesson.report("detector_vs_conv1d_max", (scores - as_conv).abs().max().item(),
              "shared detector + max == F.conv1d + max over positions (float64)", bound=1e-12, kind="tool")

# %% [markdown]
# ## Training the detector: its weights become the motif
# We learn w and a bias b from labelled sequences (logit = max score + b). A max-pooled
# detector has a trap: it can lock onto *part* of the motif, its weights shifted by a few
# taps, and stay there (a local optimum). So we train many starting points side by side
# (as cheap as one) and keep the one with the lowest training loss. Its weights, compared
# by cosine similarity, are the motif; and the window where its max lands is where the
# motif actually sits.

# %%
train, test = sequences(600 if lesson.fast else 2000, 1), sequences(1000, 2)
starts = 32
torch.manual_seed(lesson.seed)
bank = MultiStartDetector(len(motif), starts)
fit(bank, (train.x, train.labels[:, None].expand(-1, starts)), epochs=8 if lesson.fast else 15,
    lr=0.05, seed=lesson.seed, description="motif detectors")
detector = bank.best(train.x, train.labels)
cosines = [cosine_similarity(w, motif) for w in bank.weight.detach()]
with torch.no_grad():
    accuracy = (detector(test.x).argmax(dim=1) == test.labels).double().mean().item()
    test_scores, where = motif_score(test.x, detector.weight)
present = test.labels == 1
lesson.show(plot_learned_motif(motif, detector.weight.detach(), cosines, bank.losses(train.x, train.labels),
                               test_scores[present], test_scores[~present], -detector.bias.item()), "learned_motif")
lesson.report("starts_that_found_the_motif", sum(c > 0.9 for c in cosines),
              f"of {starts} starts, those whose weights have cosine > 0.9 with the motif")
lesson.report("learned_motif_cosine", cosine_similarity(detector.weight.detach(), motif),
              "cosine(learned w, motif) of the kept start", at_least=0.9)
lesson.report("motif_test_accuracy", accuracy, "motif vs decoy on 1000 test sequences", at_least=0.85)
lesson.report("motif_located", (where[present] == test.positions[present]).double().mean().item(),
              "positives where the max lands exactly on the motif's start", at_least=0.9)

# %% [markdown]
# ## Shared weights add up their windows' gradients
# Give every window i its own copy w_i of the weights, all equal to w: the network
# computes the same loss, and autograd reports one gradient per copy. The gradient of
# the shared w is then their sum, dC/dw = Σ_i dC/dw_i: every use of a weight adds its
# share. With a max, only the winning window of each sequence gets a share.

# %%
torch.manual_seed(lesson.seed)
any_detector = MotifDetector(len(motif)).double()  # any weights will do: the identity is exact
batch = sequences(64, 3, dtype=torch.float64)
tied = tied_gradient_check(any_detector, batch.x, batch.labels)
lesson.show(plot_window_gradients(tied.per_window, tied.shared), "window_gradients")
lesson.report("tied_gradient_error", tied.max_error,
              "max |dC/dw - Σ_i dC/dw_i| over taps (float64, 64 sequences)", bound=1e-6, kind="tool")
lesson.report("windows_with_gradient", int((tied.per_window.abs().sum(dim=1) > 0).sum()),
              "window positions that won the max in at least one sequence (of 42)")

# %% [markdown]
# ## Forgetting zero_grad
# `backward()` does not overwrite `.grad`, it *adds* to it: that is how the windows'
# gradients get summed. Between two optimiser steps, though, the old gradient must be
# cleared with `zero_grad()`. Forget it and step 2 uses g1 + g2 instead of g2, step 3
# uses g1 + g2 + g3, and so on: each step repeats all earlier ones, and the steps grow
# longer and longer while the current batch has less and less say.

# %%
lr, count = 0.1, 8 if lesson.fast else 20
batches = [(b.x, b.labels) for b in (sequences(32, 10 + i, dtype=torch.float64) for i in range(count))]
torch.manual_seed(lesson.seed)
start = MotifDetector(len(motif)).double()
right = sgd_steps(copy.deepcopy(start), batches, lr, zero_grad=True)
wrong = sgd_steps(copy.deepcopy(start), batches, lr, zero_grad=False)
lesson.show(plot_zero_grad(right, wrong, lr), "zero_grad")
print(f"    step 2 update, right: {[round(v, 4) for v in right[1].update.tolist()]}")
print(f"    step 2 update, wrong: {[round(v, 4) for v in wrong[1].update.tolist()]}")
stale = (wrong[1].update - right[1].update - (-lr * right[0].batch_gradient)).abs().max().item()
summed = max((s.gradient - sum(t.batch_gradient for t in wrong[: i + 1])).abs().max().item()
             for i, s in enumerate(wrong))
lesson.report("stale_gradient_error", stale, "wrong step-2 update - right one == -lr * g1, the stale gradient",
              bound=1e-12, kind="tool")
lesson.report("accumulated_gradient_error", summed, "without zero_grad, .grad at step t == g1 + ... + gt",
              bound=1e-12, kind="tool")
lesson.report("step2_update_norms", [right[1].update.norm().item(), wrong[1].update.norm().item()],
              "|Δw| at step 2: [with zero_grad, without]")
lesson.report("last_update_norm_ratio", wrong[-1].update.norm().item() / right[-1].update.norm().item(),
              f"|Δw| without / with zero_grad at step {count}", at_least=2)

# %% [markdown]
# ## Images: "C" or "D"?
# The same idea in two dimensions. A C has two stroke *endpoints* (the open right side);
# a D has two sharp *corners* (top-left and bottom-left). A template is a 3×3 picture of
# such a feature: +1 where it wants ink, −1 where it wants none. Slid over the image, it
# reaches its maximum only where the window is its picture, so thresholding at that
# maximum marks the features. Summing the marks counts them: two endpoints → C, two
# corners → D. These templates are built by hand: the answer is planted.

# %%
letters = [letter_example(name, 4, 4) for name in LETTERS]
lesson.show(plot_letter_templates(ENDPOINT_TEMPLATES, CORNER_TEMPLATES, letters), "letter_templates")
for letter in letters:
    lesson.report(f"{letter['name']}_endpoints_corners",
                  [int(letter["endpoint_maps"].sum()), int(letter["corner_maps"].sum())],
                  f"[endpoints, corners] found on the {letter['name']}")

# %% [markdown]
# ## Shift invariance: every position, the same answer
# The templates use the same weights at every position, so moving the letter moves the
# response maps with it (the maps are shift-*equivariant*), while the counts, and hence
# the decision, stay the same (shift-*invariant*). We check it exhaustively: both letters,
# four sizes, at every position where they fit on the 14×14 grid.

# %%
family = every_shift()
verdicts = torch.tensor([classify_c_or_d(image[0]) for image in family.images])
here, there = letter_example("D", 2, 1), letter_example("D", 6, 7)
equivariance = max((torch.roll(here[key], (4, 6), dims=(-2, -1)) - there[key]).abs().max().item()
                   for key in ("endpoint_maps", "corner_maps"))
examples = [[letter_example(name, row, col) for row, col in ((0, 0), (4, 6), (8, 2))] for name in LETTERS]
lesson.show(plot_shift_invariance(examples, GRID), "shift_invariance")
lesson.report("letter_images", len(family), "C and D, 4 sizes, every position on a 14x14 grid")
lesson.report("hand_built_accuracy_all_shifts", (verdicts == family.labels).double().mean().item(),
              "endpoint/corner counting, accuracy over every shift", bound=1.0, at_least=1.0, kind="tool")
lesson.report("response_map_shift_error", equivariance,
              "maps of a D moved by (4, 6) == its maps moved by (4, 6)", bound=0, kind="tool")

# %% [markdown]
# ## Learning the templates instead
# Hand-built templates do not scale to real images. A tiny conv net learns its own:
# conv (4 kernels of 3×3) → ReLU → global max over positions → linear → C or D. We train
# it only on letters near the top-left corner and test it at every position. Weight
# sharing plus the global max make it shift-invariant by construction; a dense net that
# sees the same pixels, with a separate weight per pixel, has no reason to be.

# %%
images = family.images.float()
seen = (family.offsets[:, 0] < 4) & (family.offsets[:, 1] < 4)
train_letters = (images[seen], family.labels[seen])
torch.manual_seed(lesson.seed)
net = TemplateNet(channels=4)
fit(net, train_letters, epochs=25 if lesson.fast else 40, lr=0.03, batch_size=32, seed=lesson.seed,
    description="conv net")
torch.manual_seed(lesson.seed)
dense = DenseNet(GRID * GRID)
fit(dense, train_letters, epochs=25 if lesson.fast else 40, lr=0.01, batch_size=32, seed=lesson.seed,
    description="dense net")
conv_right = predictions(net, images) == family.labels
dense_right = predictions(dense, images) == family.labels
groups = family.labels * 100 + family.sizes[:, 0] * 10 + family.sizes[:, 1]  # one glyph per group
with torch.no_grad():
    centred = {name: place(glyph(name, 6, 5), 5, 6) for name in LETTERS}
    letter_maps = [(name, image, net.response_maps(image[None, None].float())[0]) for name, image in centred.items()]
accuracy_maps = {"conv net": accuracy_by_offset(conv_right, family.offsets),
                 "dense net": accuracy_by_offset(dense_right, family.offsets)}
lesson.show(plot_template_net(net.conv.weight.detach()[:, 0], net.readout.weight.detach(), letter_maps,
                              accuracy_maps, (4, 4)), "learned_templates")
lesson.report("conv_net_training_images", int(seen.sum()), "letters placed at row and column offsets 0..3 only")
lesson.report("conv_net_accuracy_all_shifts", conv_right.double().mean().item(),
              "conv → ReLU → global max → linear, accuracy over every shift", at_least=0.95)
lesson.report("conv_net_logit_spread", logit_spread_over_shifts(net, images, groups),
              "largest change of its logits when a glyph moves anywhere (invariant by construction)", bound=1e-4,
              kind="tool")
lesson.report("dense_net_accuracy_all_shifts", dense_right.double().mean().item(),
              "a dense net trained on the same images, accuracy over every shift")
lesson.report("dense_net_accuracy_unseen_shifts", dense_right[~seen].double().mean().item(),
              "the dense net on positions it never saw: no weight sharing, no invariance", bound=0.8)

# %% [markdown]
# ## What the lecture claims, and what this lesson shows
# Each claim of the source text that this lesson tests, with the summary numbers behind its
# status. The C-or-D templates are built by hand, so they show the idea only as a
# construction; the trained detector and the trained conv net are the evidence that the
# idea also works when the weights are learned.

# %%
lesson.claim("sliding_motif_detector", source=f"{LECTURE}, §Motif detection in sequential data",
             claim="one detector with shared weights, slid along a sequence and followed by a max, finds a motif "
                   "wherever it occurs", status="reproduced",
             evidence=["learned_motif_cosine", "motif_test_accuracy", "motif_located", "starts_that_found_the_motif"],
             note="trained from 32 starts; only some starts find the whole motif, the others lock onto part of it")
lesson.claim("window_gradients_add", source=f"{LECTURE}, §Motif detection in sequential data",
             claim="the shared weights' gradient is the sum of the gradients of all the windows", status="reproduced",
             evidence=["tied_gradient_error", "windows_with_gradient"],
             note="an identity; with a max only the winning window of each sequence contributes")
lesson.claim("zero_grad", source=f"{LECTURE}, §Motif detection in sequential data",
             claim="PyTorch adds gradients into .grad, so zero_grad() must clear them between steps",
             status="reproduced", evidence=["stale_gradient_error", "accumulated_gradient_error",
                                            "last_update_norm_ratio"])
lesson.claim("c_or_d_templates", source=f"{LECTURE}, §Motif detection in images",
             claim="endpoint and corner templates, thresholded and summed, tell a C (two endpoints) from a D "
                   "(two corners)", status="constructed only",
             evidence=["C_endpoints_corners", "D_endpoints_corners", "hand_built_accuracy_all_shifts"],
             note="hand-built templates on drawn letters")
lesson.claim("shift_invariance", source=f"{LECTURE}, §Motif detection in images (shift invariance)",
             claim="with shared weights, moving the letter moves the detections and leaves the decision unchanged",
             status="reproduced",
             evidence=["response_map_shift_error", "conv_net_accuracy_all_shifts", "conv_net_logit_spread",
                       "dense_net_accuracy_unseen_shifts"],
             note="exact for the hand-built templates and for the trained conv net (trained on 16 of the "
                  "positions); a dense net trained on the same images is not invariant")
lesson.claim("learned_templates", source=f"{LECTURE}, §Motif detection in images (templates learned)",
             claim="the templates need not be designed: a network can learn them", status="reproduced",
             evidence=["conv_net_accuracy_all_shifts"],
             note="the learned kernels separate C from D but are not pictures of endpoints and corners")

# %% [markdown]
# ## References
# - NYU Deep Learning (LeCun, Canziani), lecture "Visualization of neural networks, parameter
#   transformation and fundamental concepts of convolution": §Motif detection in sequential
#   data, §Motif detection in images.
# - A. Waibel, T. Hanazawa, G. Hinton, K. Shikano, K. J. Lang (1989). Phoneme recognition
#   using time-delay neural networks. IEEE Trans. Acoustics, Speech, and Signal Processing 37(3):
#   shared detectors slid along speech.
# - Y. LeCun, B. Boser, J. S. Denker, D. Henderson, R. E. Howard, W. Hubbard, L. D. Jackel
#   (1989). Backpropagation applied to handwritten zip code recognition. Neural Computation
#   1(4): learned, shared feature detectors on images.

# %%
summary = lesson.finish()
