"""Folding space
A net whose hidden layers have two neurons maps the plane to the plane, so every step can
be drawn: affine maps move, stretch and shear it, ReLUs flatten it onto the axes. And why
such narrow nets train badly: points that a ReLU sends to the origin stay merged for good.
"""

# %%
import torch

from course.chapters.folding_space import (a_net_that_reached, affine_relu_steps, best_line_accuracy, dead_fraction,
                                           grid_lines, layer_parameters, predicted_classes, quadrant, relu_landing,
                                           step_names, training_experiment)
from course.data.two_class_plane import BOUNDARY_TEXT, BOX, chevron, chevron_boundary
from course.figures.folding_space import (plot_chevron_data, plot_collapse_per_layer, plot_dead_fractions,
                                          plot_decision_regions, plot_folding_steps, plot_relu_quadrants,
                                          plot_separable_output, plot_training_runs)
from course.runtime.lesson import Lesson

POINTS, TARGET = 256, 0.97  # "reached the target": training accuracy >= TARGET
TRAINING = dict(epochs=40, lr=0.03, batch_size=64)  # Adam, the same for every net
NARROW, WIDE = 2, 16  # neurons per hidden layer; both nets have 4 hidden layers


def lesson_data(lesson):
    """The lesson's two-class data set, seeded by the lesson's seed."""
    return chevron(POINTS, lesson.seed)


def boundary_curve():
    x1 = torch.linspace(-BOX, BOX, 201)
    return x1, chevron_boundary(x1)


# %% [markdown]
# ## Two classes that no straight line separates
# Class 1 sits above a V-shaped curve, class 0 below it. A linear classifier draws one
# straight line, and the best line anywhere in the plane still gets a good share of the
# points wrong. One fold of the plane along the V's axis would straighten the V, and
# folding is what a ReLU layer can do.

# %%
def the_data(lesson):
    points, labels = lesson_data(lesson)
    best_line = best_line_accuracy(points, labels)
    lesson.save(plot_chevron_data(points, labels, BOX, *boundary_curve(), BOUNDARY_TEXT, best_line), "data")
    lesson.report("class1_fraction", labels.double().mean().item(), "fraction of the points in class 1")
    lesson.report("input_best_line_accuracy", best_line,
                  "the best accuracy any straight line reaches in the input plane", bound=0.9)


# %% [markdown]
# ## What ReLU does to the plane
# ReLU replaces every negative coordinate by zero. A point of quadrant I (both coordinates
# positive) does not move; quadrant II loses its first coordinate and lands on the
# vertical axis, quadrant IV lands on the horizontal axis, and all of quadrant III lands
# on one point, the origin. Three quarters of the plane are flattened onto a line or a point.

# %%
def relu_on_quadrants(lesson):
    cloud = 2 * torch.rand(2000, 2, generator=torch.Generator().manual_seed(lesson.seed)) - 1
    after, where = torch.relu(cloud), quadrant(cloud)
    lesson.save(plot_relu_quadrants(cloud, after, where), "relu_quadrants")
    lands_as_described = {  # quadrant: does each point end up where the text above says?
        "I": (after == cloud).all(dim=1),  # does not move
        "II": (after[:, 0] == 0) & (after[:, 1] > 0),  # onto the x2-axis
        "III": (after == 0).all(dim=1),  # onto the origin
        "IV": (after[:, 0] > 0) & (after[:, 1] == 0),  # onto the x1-axis
    }
    for q, (name, right) in enumerate(lands_as_described.items()):
        lesson.report(f"relu_quadrant_{name}", right[where == q].double().mean().item(),
                      f"fraction of quadrant {name}'s points that land as described", bound=1.0, at_least=1.0)
    lesson.report("relu_flattened_fraction", (relu_landing(cloud) > 0).double().mean().item(),
                  "fraction of 2000 uniform points of [-1, 1]² put on an axis or the origin", bound=0.8, at_least=0.7)


# %% [markdown]
# ## Training a narrow and a wide net, from many seeds
# The net of the lecture: 2 inputs, 4 hidden layers of 2 ReLU neurons, 2 outputs (class
# scores). We train it from several random initialisations, and a wider net (16 neurons
# per hidden layer) from the same seeds, same data, same optimiser and epochs. The wide
# net gets there (nearly) every time; the narrow one often stalls at the loss of a constant
# answer, even though a narrow net that solves the task exists (we found one below).

# %%
def narrow_vs_wide(lesson):
    points, labels = lesson_data(lesson)
    seeds = range(100 * lesson.seed, 100 * lesson.seed + (4 if lesson.fast else 24))
    runs = training_experiment(points, labels, (NARROW, WIDE), seeds, TARGET, **TRAINING)
    lesson.save(plot_training_runs(runs), "training_runs")
    lesson.record("final_accuracy", {width: r.final_accuracy for width, r in runs.items()})
    lesson.report("seeds_per_width", len(seeds), "random initialisations tried per width (fewer with --fast)")
    lesson.report("narrow_success_rate", runs[NARROW].success_rate,
                  f"fraction of seeds where the 2-neuron net reached {TARGET:.0%} training accuracy")
    lesson.report("wide_success_rate", runs[WIDE].success_rate,
                  f"the same for the {WIDE}-neuron net", at_least=0.9)
    lesson.report("wide_minus_narrow_success", runs[WIDE].success_rate - runs[NARROW].success_rate,
                  "how much more often the wide net succeeds", at_least=0.25)
    return runs


# %% [markdown]
# ## The plane, step by step through a trained narrow net
# Take a narrow net that did reach the target and push the data, and a grid drawn over the
# plane, through it one operation at a time. Each affine map W x + b moves, stretches and
# shears the plane (grid lines stay straight and parallel); each ReLU then flattens
# whatever left the positive quadrant onto its edges, which bends the grid lines. Writing
# the net out as these explicit steps gives exactly what the nn.Module computes.

# %%
def folding_steps(lesson, runs):
    points, labels = lesson_data(lesson)
    net, seed, accuracy = a_net_that_reached(runs[NARROW], points, labels, **TRAINING)
    weights, biases = layer_parameters(net)
    steps = affine_relu_steps(points, weights, biases)
    lines = grid_lines(BOX)
    grid_steps = [s.reshape(lines.shape) for s in affine_relu_steps(lines.reshape(-1, 2), weights, biases)]
    with torch.no_grad():
        error = (steps[-1] - net(points)).abs().max().item()
    names = ["input"] + step_names(len(weights))
    lesson.save(plot_folding_steps([points] + steps, [lines] + grid_steps, labels, names, accuracy), "folding_steps")
    lesson.report("shown_net_seed", seed,
                  "seed of the narrow net drawn: the first that reached the target (trying more seeds if none did)")
    lesson.report("shown_net_accuracy", accuracy, "its training accuracy", at_least=TARGET)
    lesson.report("explicit_steps_vs_module", error,
                  "max |explicit affine/ReLU steps - nn.Sequential output| on the data", bound=1e-6)
    return net


# %% [markdown]
# ## How much each ReLU flattens
# At every hidden layer, count where the ReLU puts the data points: inside the open
# quadrant (nothing lost), on an axis (one coordinate forgotten) or on the origin (both
# forgotten). A trained narrow net leans on the flattening: it parks much of one class on
# an axis or on the origin, where the output layer can give all of it one answer.

# %%
def collapse_per_layer(lesson, net):
    points, _ = lesson_data(lesson)
    weights, biases = layer_parameters(net)
    before_relu = affine_relu_steps(points, weights, biases)[0:-1:2]  # affine 1 .. affine 4
    fractions = torch.stack([torch.bincount(relu_landing(a), minlength=3) / len(points) for a in before_relu])
    lesson.save(plot_collapse_per_layer(fractions), "collapse_per_layer")
    lesson.record("landing_fractions_per_layer", {"inside, on an axis, on the origin": fractions})
    lesson.report("shown_net_points_on_axis_or_origin", (1 - fractions[:, 0]).mean().item(),
                  "mean over hidden layers of the fraction flattened onto an axis or the origin")
    lesson.report("shown_net_dead_fraction", dead_fraction(net, points),
                  "fraction of points sent to the origin by some hidden ReLU")


# %% [markdown]
# ## At the end, a straight line does it
# After the last ReLU the two classes lie on either side of one straight line: the output
# layer is a linear classifier, and the hidden layers have bent the data until a line
# suffices. In the output plane that line is the diagonal "score of class 1 = score of
# class 0". The best line in the input plane did far worse.

# %%
def separable_at_the_end(lesson, net):
    points, labels = lesson_data(lesson)
    weights, biases = layer_parameters(net)
    steps = affine_relu_steps(points, weights, biases)
    last_hidden, outputs = steps[-2], steps[-1]
    normal, offset = weights[-1][1] - weights[-1][0], biases[-1][1] - biases[-1][0]  # score 1 - score 0
    output_accuracy = ((outputs[:, 1] > outputs[:, 0]).long() == labels).double().mean().item()
    fig = plot_separable_output(last_hidden, outputs, labels, normal, offset, output_accuracy)
    lesson.save(fig, "separable_output")
    lesson.report("last_hidden_best_line_accuracy", best_line_accuracy(last_hidden, labels),
                  "the best straight line after the last ReLU", at_least=TARGET)
    lesson.report("output_diagonal_accuracy", output_accuracy,
                  "points on their class's side of the output plane's diagonal", at_least=TARGET)


# %% [markdown]
# ## Decision regions in the input plane
# Colour every point of the input square by the class the net picks. The narrow net that
# succeeded bends its boundary once, like the V; a narrow net that failed is stuck with a
# cruder boundary, often with one answer everywhere; the wide net draws the V easily.

# %%
def decision_regions(lesson, runs, net):
    points, labels = lesson_data(lesson)
    nets, titles = [net], ["narrow net that reached the target"]
    failed = [n for n, reached in zip(runs[NARROW].nets, runs[NARROW].reached) if not reached]
    if failed:
        nets, titles = nets + failed[:1], titles + ["narrow net that did not"]
    nets, titles = nets + runs[WIDE].nets[:1], titles + [f"wide net ({WIDE} per hidden layer)"]
    regions = [predicted_classes(n, BOX) for n in nets]
    lesson.save(plot_decision_regions(regions, BOX, points, labels, titles, *boundary_curve()), "decision_regions")
    axis = torch.linspace(-BOX, BOX, regions[0].shape[0])
    truth = (axis[:, None] > chevron_boundary(axis)[None, :]).long()  # rows: x2, columns: x1
    agreement = {title: (region == truth).double().mean().item() for title, region in zip(titles, regions)}
    lesson.record("decision_region_agreement", agreement)
    lesson.report("shown_net_region_agreement", agreement[titles[0]],
                  "fraction of the input square where the narrow net agrees with the true V", at_least=0.85)


# %% [markdown]
# ## Why narrow nets fail: points merged at the origin
# If a layer's affine map moves points out of the positive quadrant on both coordinates,
# its ReLU sends them all to the origin. From then on they share one position, so nothing
# later can tell them apart, and no gradient reaches the earlier layers through them.
# With two neurons that happens to most points already at initialisation; with sixteen,
# all sixteen would have to be negative at once, which almost never happens. In the runs
# that failed, most of the errors are points of both classes merged at one origin.

# %%
def dead_points(lesson, runs):
    points, labels = lesson_data(lesson)
    narrow, wide = runs[NARROW], runs[WIDE]
    lesson.save(plot_dead_fractions(runs), "dead_fractions")
    failed = [i for i, reached in enumerate(narrow.reached) if not reached]
    errors = sum(1 - narrow.final_accuracy[i] for i in failed)
    forced_share = sum(narrow.forced_error[i] for i in failed) / errors if errors > 0 else 1.0
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


# %%
def main(argv=None):
    lesson = Lesson.start(__doc__, argv, __file__)
    the_data(lesson)
    relu_on_quadrants(lesson)
    runs = narrow_vs_wide(lesson)
    net = folding_steps(lesson, runs)
    collapse_per_layer(lesson, net)
    separable_at_the_end(lesson, net)
    decision_regions(lesson, runs, net)
    dead_points(lesson, runs)
    return lesson.finish()


if __name__ == "__main__":
    main()
