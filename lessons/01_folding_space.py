# %% [markdown]
# # 01 · Folding space
# A net whose hidden layers have two neurons maps the plane to the plane, so every step can be
# drawn: affine maps move, stretch and shear it, ReLUs flatten it onto the axes. We train such
# narrow nets and wide ones on the same two-class problem, follow the plane through a trained
# narrow net step by step, and look at why narrow nets so often fail to train.

# %% tags=["parameters"]
fast = False  # True: 4 seeds per net instead of 24, seconds instead of a minute (what --fast and CI use)

# %%
try:  # before `pip install -e .` the course cannot be imported: say so in one line, not a traceback
    import course  # noqa: F401
except ModuleNotFoundError as missing:
    raise SystemExit(f"{missing}: install the course first, from its folder: "
                     "pip install -r requirements.txt && pip install -e .") from None
import torch

from course.chapters.folding_space import (a_net_that_reached, affine_relu_steps, best_line_accuracy, dead_fraction,
                                           flatness, grid_lines, layer_parameters, predicted_classes, quadrant,
                                           relu_landing, step_names, training_experiment)
from course.data.two_class_plane import BOUNDARY_TEXT, BOX, chevron, chevron_boundary
from course.figures.folding_space import (plot_chevron_data, plot_collapse_per_layer, plot_dead_fractions,
                                          plot_decision_regions, plot_folding_steps, plot_relu_quadrants,
                                          plot_separable_output, plot_training_runs)
from course.runtime.lesson import Lesson

lesson = Lesson.start("01_folding_space", fast=fast)
LECTURE = ("NYU lecture 'Visualization of neural networks, parameter transformation and fundamental concepts "
           "of convolution'")

POINTS, TARGET = 256, 0.97  # "reached the target": training accuracy >= TARGET
TRAINING = dict(epochs=40, lr=0.03, batch_size=64)  # Adam, the same for every net
NARROW, WIDE = 2, 16  # neurons per hidden layer; both nets have 4 hidden layers
points, labels = chevron(POINTS, lesson.seed)
boundary_x = torch.linspace(-BOX, BOX, 201)
boundary_y = chevron_boundary(boundary_x)

# %% [markdown]
# ## Two classes that no straight line separates
# Class 1 sits above a V-shaped curve, class 0 below it. A linear classifier draws one
# straight line, and the best line anywhere in the plane still gets a good share of the
# points wrong. One fold of the plane along the V's axis would straighten the V, and
# folding is what a ReLU layer can do.

# %%
input_best_line = best_line_accuracy(points, labels)
lesson.show(plot_chevron_data(points, labels, BOX, boundary_x, boundary_y, BOUNDARY_TEXT, input_best_line), "data")
lesson.report("class1_fraction", labels.double().mean().item(), "fraction of the points in class 1")
lesson.report("input_best_line_accuracy", input_best_line,
              "the best accuracy any straight line reaches in the input plane", bound=0.9, kind="tool")

# %% [markdown]
# ## What ReLU does to the plane
# ReLU replaces every negative coordinate by zero. A point of quadrant I (both coordinates
# positive) does not move; quadrant II loses its first coordinate and lands on the
# vertical axis, quadrant IV lands on the horizontal axis, and all of quadrant III lands
# on one point, the origin. Three quarters of the plane are flattened onto a line or a point.

# %%
cloud = 2 * torch.rand(2000, 2, generator=torch.Generator().manual_seed(lesson.seed)) - 1
after, where = torch.relu(cloud), quadrant(cloud)
lesson.show(plot_relu_quadrants(cloud, after, where), "relu_quadrants")
lands_as_described = {  # quadrant: does each point end up where the text above says?
    "I": (after == cloud).all(dim=1),  # does not move
    "II": (after[:, 0] == 0) & (after[:, 1] > 0),  # onto the x2-axis
    "III": (after == 0).all(dim=1),  # onto the origin
    "IV": (after[:, 0] > 0) & (after[:, 1] == 0),  # onto the x1-axis
}
for q, (name, right) in enumerate(lands_as_described.items()):
    lesson.report(f"relu_quadrant_{name}", right[where == q].double().mean().item(),
                  f"fraction of quadrant {name}'s points that land as described", bound=1.0, at_least=1.0, kind="tool")
lesson.report("relu_flattened_fraction", (relu_landing(cloud) > 0).double().mean().item(),
              "fraction of 2000 uniform points of [-1, 1]² put on an axis or the origin", bound=0.8, at_least=0.7,
              kind="tool")

# %% [markdown]
# ## Training a narrow and a wide net, from many seeds
# The net of the lecture: 2 inputs, 4 hidden layers of 2 ReLU neurons, 2 outputs (class
# scores). We train it from several random initialisations, and a wider net (16 neurons
# per hidden layer) from the same seeds, same data, same optimiser and epochs. The wide
# net gets there (nearly) every time; the narrow one often stalls at the loss of a constant
# answer, even though a narrow net that solves the task exists (we find one below).

# %%
seeds = range(100 * lesson.seed, 100 * lesson.seed + (4 if lesson.fast else 24))
runs = training_experiment(points, labels, (NARROW, WIDE), seeds, TARGET, **TRAINING)
narrow, wide = runs[NARROW], runs[WIDE]
lesson.show(plot_training_runs(runs), "training_runs")
lesson.record("final_accuracy", {width: r.final_accuracy for width, r in runs.items()})
lesson.report("seeds_per_width", len(seeds), "random initialisations tried per width (fewer with --fast)")
lesson.report("narrow_success_rate", narrow.success_rate,
              f"fraction of seeds where the 2-neuron net reached {TARGET:.0%} training accuracy")
lesson.report("wide_success_rate", wide.success_rate, f"the same for the {WIDE}-neuron net", at_least=0.9)
lesson.report("wide_minus_narrow_success", wide.success_rate - narrow.success_rate,
              "how much more often the wide net succeeds", at_least=0.25)

# %% [markdown]
# ## The plane, step by step through a trained narrow net
# Take a narrow net that did reach the target and push the data, and a grid drawn over the
# plane, through it one operation at a time. Each affine map W x + b moves, stretches and
# shears the plane (grid lines stay straight and parallel); each ReLU then flattens whatever
# left the positive quadrant onto its edges, which bends the grid lines. Look at the later
# panels: from the second affine map on, the narrow net squeezes the whole plane onto one
# line. The first ReLU folded the V, and after that the net uses one direction only: it works
# as a chain of one-neuron layers, sliding and folding a line until the classes part.

# %%
net, shown_seed, shown_accuracy = a_net_that_reached(narrow, points, labels, **TRAINING)
weights, biases = layer_parameters(net)
steps = affine_relu_steps(points, weights, biases)
lines = grid_lines(BOX)
grid_steps = [s.reshape(lines.shape) for s in affine_relu_steps(lines.reshape(-1, 2), weights, biases)]
with torch.no_grad():
    module_error = (steps[-1] - net(points)).abs().max().item()
names = ["input"] + step_names(len(weights))
lesson.show(plot_folding_steps([points] + steps, [lines] + grid_steps, labels, names, shown_accuracy), "folding_steps")
lesson.report("shown_net_seed", shown_seed,
              "seed of the narrow net drawn: the first that reached the target (trying more seeds if none did)")
lesson.report("shown_net_accuracy", shown_accuracy, "its training accuracy (chosen for it)", at_least=TARGET, kind="tool")
lesson.report("explicit_steps_vs_module", module_error,
              "max |explicit affine/ReLU steps - nn.Sequential output| on the data", bound=1e-6, kind="tool")
flat = [flatness(grid.reshape(-1, 2)) for grid in grid_steps]  # the whole plane, not only the data
lesson.record("plane_flatness_per_step", dict(zip(names[1:], flat)))
first_line = next((name for i, name in enumerate(names[1:]) if max(flat[i:]) < 0.05), "none")
lesson.report("shown_net_plane_on_a_line_from", first_line,
              "step from which the image of the whole plane stays (nearly) a line: thinner than 1/20 of its length")
lesson.report("shown_net_output_flatness", flat[-1],
              "the output plane's thinnest/widest spread: 0 means every input lands on one line")

# %% [markdown]
# ## How much each ReLU flattens
# At every hidden layer, count where the ReLU puts the data points: inside the open
# quadrant (nothing lost), on an axis (one coordinate forgotten) or on the origin (both
# forgotten). A trained narrow net leans on the flattening: it parks much of one class on
# an axis or on the origin, where the output layer can give all of it one answer.

# %%
before_relu = steps[0:-1:2]  # affine 1 .. affine 4
fractions = torch.stack([torch.bincount(relu_landing(a), minlength=3) / len(points) for a in before_relu])
lesson.show(plot_collapse_per_layer(fractions), "collapse_per_layer")
lesson.record("landing_fractions_per_layer", {"inside, on an axis, on the origin": fractions})
lesson.report("shown_net_points_on_axis_or_origin", (1 - fractions[:, 0]).mean().item(),
              "mean over hidden layers of the fraction flattened onto an axis or the origin")
lesson.report("shown_net_dead_fraction", dead_fraction(net, points),
              "fraction of points sent to the origin by some hidden ReLU (in a net that succeeded)")

# %% [markdown]
# ## At the end, a straight line does it
# After the last ReLU the two classes lie on either side of one straight line: the output
# layer is a linear classifier, and the hidden layers have bent the data until a line
# suffices. In the output plane that line is the diagonal "score of class 1 = score of
# class 0". The best line in the input plane did far worse.

# %%
last_hidden, outputs = steps[-2], steps[-1]
normal, offset = weights[-1][1] - weights[-1][0], biases[-1][1] - biases[-1][0]  # score 1 - score 0
output_accuracy = ((outputs[:, 1] > outputs[:, 0]).long() == labels).double().mean().item()
lesson.show(plot_separable_output(last_hidden, outputs, labels, normal, offset, output_accuracy), "separable_output")
lesson.report("last_hidden_best_line_accuracy", best_line_accuracy(last_hidden, labels),
              "the best straight line after the last ReLU (the output layer is one such line)", at_least=TARGET,
              kind="tool")
lesson.report("output_diagonal_accuracy", output_accuracy,
              "points on their class's side of the output plane's diagonal (the net's accuracy)", at_least=TARGET,
              kind="tool")

# %% [markdown]
# ## Decision regions in the input plane
# Colour every point of the input square by the class the net picks. The narrow net that
# succeeded bends its boundary once, like the V; a narrow net that failed is stuck with a
# cruder boundary, often with one answer everywhere; the wide net draws the V easily.

# %%
region_nets, titles = [net], ["narrow net that reached the target"]
failed_nets = [n for n, reached in zip(narrow.nets, narrow.reached) if not reached]
if failed_nets:
    region_nets, titles = region_nets + failed_nets[:1], titles + ["narrow net that did not"]
region_nets, titles = region_nets + wide.nets[:1], titles + [f"wide net ({WIDE} per hidden layer)"]
regions = [predicted_classes(n, BOX) for n in region_nets]
lesson.show(plot_decision_regions(regions, BOX, points, labels, titles, boundary_x, boundary_y), "decision_regions")
axis = torch.linspace(-BOX, BOX, regions[0].shape[0])
truth = (axis[:, None] > chevron_boundary(axis)[None, :]).long()  # rows: x2, columns: x1
agreement = {title: (region == truth).double().mean().item() for title, region in zip(titles, regions)}
lesson.record("decision_region_agreement", agreement)
lesson.report("shown_net_region_agreement", agreement[titles[0]],
              "fraction of the input square where the narrow net agrees with the true V", at_least=0.85)

# %% [markdown]
# ## Points merged at the origin: why narrow nets fail, and what that does not explain
# If a layer's affine map moves points out of the positive quadrant on both coordinates,
# its ReLU sends them all to the origin; from then on they share one position, so nothing
# later can tell them apart. With two neurons that happens to most points already at
# initialisation; with sixteen, all sixteen would have to be negative at once. In the failed
# runs most errors are points of both classes merged at one origin. But the count of merged
# points alone does not tell failure from success: the narrow net that succeeded merges about
# as many. What matters is whether the points merged together belong to one class.

# %%
failed = [i for i, reached in enumerate(narrow.reached) if not reached]
errors = sum(1 - narrow.final_accuracy[i] for i in failed)
forced_share = sum(narrow.forced_error[i] for i in failed) / errors if errors > 0 else 1.0
failed_dead = sum(narrow.dead_after[i] for i in failed) / len(failed) if failed else float("nan")
lesson.show(plot_dead_fractions(runs, shown_dead=lesson.summary["shown_net_dead_fraction"]), "dead_fractions")
lesson.report("narrow_dead_at_init", narrow.mean("dead_at_init"), "2 neurons: mean fraction of points dead at init")
lesson.report("wide_dead_at_init", wide.mean("dead_at_init"), f"{WIDE} neurons: the same")
lesson.report("narrow_dead_after", narrow.mean("dead_after"), "2 neurons: mean fraction dead after training")
lesson.report("wide_dead_after", wide.mean("dead_after"), f"{WIDE} neurons: the same")
lesson.report("dead_at_init_narrow_minus_wide", narrow.mean("dead_at_init") - wide.mean("dead_at_init"),
              "how many more points the narrow net kills at initialisation", at_least=0.3)
lesson.report("dead_after_narrow_minus_wide", narrow.mean("dead_after") - wide.mean("dead_after"),
              "and after training", at_least=0.3)
lesson.report("failed_runs_error_forced_by_merging", forced_share,
              "share of the failed narrow runs' errors forced by both classes merged at an origin", at_least=0.5)
lesson.report("failed_narrow_dead_after", failed_dead, "mean fraction dead after training in the failed narrow runs")
lesson.report("dead_fraction_failed_minus_succeeded", failed_dead - lesson.summary["shown_net_dead_fraction"],
              "failed runs minus the narrow net that succeeded: near 0, so this count does not separate them")

# %% [markdown]
# ## Go deeper?
# The lecture's remedy for a net that trains badly is to make it fatter (more neurons per
# layer), deeper (more layers), or both. Fatter we measured above. Deeper is a different bet
# at this width: with two neurons per layer, every extra layer is one more chance to send the
# data to the origin. We train the narrow net with twice as many hidden layers (8) from the
# same seeds (the first two with --fast) and count how often it gets there.

# %%
DEEP = 8  # hidden layers of the deeper narrow net
deep_seeds = seeds[:2] if lesson.fast else seeds
deep = training_experiment(points, labels, (NARROW,), deep_seeds, TARGET, hidden_layers=DEEP, **TRAINING)[NARROW]
lesson.report("deep_narrow_success_rate", deep.success_rate,
              f"fraction of {len(deep_seeds)} seeds where the 2-neuron net with {DEEP} hidden layers reached the target")
lesson.report("deep_minus_narrow_success", deep.success_rate - narrow.success_rate,
              f"{DEEP} hidden layers minus 4, both 2 neurons wide: depth alone does not help here")
lesson.report("deep_narrow_dead_at_init", deep.mean("dead_at_init"),
              "its mean fraction of points dead at initialisation (more layers, more chances to die)")

# %% [markdown]
# ## References
# - NYU Deep Learning (Y. LeCun, A. Canziani), lecture "Visualization of neural networks,
#   parameter transformation and fundamental concepts of convolution", §"Visualization of
#   neural networks" (the 2-2-2-2-2-2 net, folding, why narrow layers train badly).
# - V. Nair and G. E. Hinton (2010), rectified linear units; X. Glorot, A. Bordes and
#   Y. Bengio (2011), deep sparse rectifier networks.
# - L. Lu, Y. Shin, Y. Su and G. E. Karniadakis (2020), "Dying ReLU and initialization":
#   narrow deep ReLU nets collapse to a constant with high probability.

# %%
lesson.claim("layers_fold_the_plane", source=f"{LECTURE}, §folding space",
             claim="each hidden layer of a 2-neuron net is an affine map of the plane followed by a ReLU fold",
             status="reproduced", evidence=["explicit_steps_vs_module", "relu_flattened_fraction"],
             note="an identity, drawn here for a trained net")
lesson.claim("narrow_nets_train_badly", source=f"{LECTURE}, §folding space",
             claim="with 2 neurons per hidden layer training often fails; more neurons per layer make it easy",
             status="reproduced", evidence=["narrow_success_rate", "wide_success_rate", "wide_minus_narrow_success"])
lesson.claim("separable_at_the_end", source=f"{LECTURE}, §visualization of outputs",
             claim="after the affine and ReLU steps the two classes are linearly separable",
             status="reproduced", evidence=["input_best_line_accuracy", "last_hidden_best_line_accuracy"],
             note="implied by the trained net's accuracy, since its output layer is a line")
lesson.claim("zeroed_points_explain_failure", source=f"{LECTURE}, §why 2-neuron layers are harder to train",
             claim="a bias that pushes points out of the positive quadrant zeroes them for good, which makes "
                   "narrow nets hard to train",
             status="partial",
             evidence=["dead_at_init_narrow_minus_wide", "failed_runs_error_forced_by_merging",
                       "failed_narrow_dead_after", "shown_net_dead_fraction"],
             note="narrow nets zero far more points and failed runs' errors are mostly such merges, but a narrow "
                  "net that succeeded zeroes as many points: the count alone does not predict failure")
lesson.claim("deeper_trains_easier", source=f"{LECTURE}, §why 2-neuron layers are harder to train",
             claim="adding hidden layers, like adding neurons, makes the net easier to train",
             status="reproduced" if lesson.summary["deep_minus_narrow_success"] > 0 else "not reproduced",
             evidence=["deep_narrow_success_rate", "narrow_success_rate", "deep_narrow_dead_at_init"],
             note="tested only at 2 neurons per layer, where more layers means more points zeroed; "
                  "the deeper and wider nets of later lessons train well")
summary = lesson.finish()
