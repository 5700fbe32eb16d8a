# %% [markdown]
# # 02 · Parameter transformations, weight sharing, hypernetworks
# A network's weights w need not be free parameters: they can be computed, w = H(u), from
# other parameters u. The chain rule then says how gradients and updates pass through H.
# Weight sharing is the simplest H (copies), and its tied gradients add up; a hypernetwork
# is the most ambitious one (another network, fed with a context).

# %% tags=["parameters"]
fast = False  # True: fewer training contexts and epochs, seconds instead of a minute (what `--fast` and CI use)

# %%
try:  # before `pip install -e .` the course cannot be imported: say so in one line, not a traceback
    import course  # noqa: F401
except ModuleNotFoundError as missing:
    raise SystemExit(f"{missing}: install the course first, from its folder: "
                     "pip install -r requirements.txt && pip install -e .") from None
import math

import torch

from course.chapters.parameter_transformations import (FixedTarget, HyperNetwork, chain_rule_check, curves_for,
                                                       final_test_error, induced_update_residual, rank_one,
                                                       spread_within_copies, tied_and_untied_step, tied_gradients,
                                                       tied_problem, train_models)
from course.data.sine_family import X_RANGE, random_contexts, sine_curve, sine_family
from course.figures.parameter_transformations import (plot_hypernetwork_fits, plot_induced_update_residual,
                                                      plot_test_curves, plot_tied_gradients, plot_tied_step)
from course.models import parameter_count
from course.runtime.lesson import Lesson

lesson = Lesson.start("02_parameter_transformations", fast=fast)
LECTURE = ("NYU lecture 'Visualization of neural networks, parameter transformation and fundamental concepts "
           "of convolution'")

# %% [markdown]
# ## w = H(u): the weights are an output
# Let a function H turn a parameter vector u (N_u numbers) into the weights w (N_w numbers)
# of a network G(x, w), and let C be the cost. Gradient descent now moves u, and the chain
# rule gives dC/du = (dH/du)ᵀ dC/dw, where the Jacobian dH/du is an N_w × N_u matrix.
# Below, G is one tanh layer tanh(W x) fitted to 32 seeded samples, and H makes its 4×4
# matrix W, of rank one, from 8 numbers; autograd's dC/du is compared with the product of
# an explicit Jacobian and dC/dw.

# %%
problem = tied_problem(n=4, samples=32, seed=lesson.seed)  # a small regression with a 4x4 layer
u_rank_one = torch.randn(8, generator=torch.Generator().manual_seed(lesson.seed + 1), dtype=torch.float64)
check = chain_rule_check(rank_one, u_rank_one, problem.cost)
lesson.report("low_rank_jacobian_shape", list(check.jacobian.shape), "dH/du is N_w x N_u = 16 x 8")
lesson.report("chain_rule_error", check.max_error,
              "max |autograd dC/du - (dH/du)^T dC/dw| for the rank-one H (float64)", bound=1e-12, kind="tool")

# %% [markdown]
# ## Weight sharing: H copies
# The simplest H only copies: w[i] = u[index[i]]. Here 4 parameters fill a 4×4 matrix whose
# rows are shifted copies of each other: a circulant matrix, and multiplying by it is a
# (circular) convolution, as lesson 04 measures. Each row of dH/du has a single 1, so
# (dH/du)ᵀ dC/dw just adds the gradients of all the copies of a parameter. We compute that
# sum by hand and compare it with what autograd finds for dC/du.

# %%
grads = tied_gradients(problem)
lesson.show(plot_tied_gradients(grads.problem.u, grads.problem.index, grads.w.detach(), grads.grad_w,
                                grads.grad_u, grads.grad_u_by_hand), "tied_gradients")
lesson.report("copies_per_parameter", torch.bincount(problem.index.reshape(-1)).tolist(),
              "each of the 4 parameters fills 4 of the 16 weights")
lesson.report("tied_gradient_error", grads.hand_error,
              "max |autograd dC/du - sum of the tied copies' dC/dw| (float64)", bound=1e-6, kind="tool")
lesson.report("tied_jacobian_error", grads.jacobian_error,
              "max |autograd dC/du - (dH/du)^T dC/dw| with the 0/1 sharing matrix", bound=1e-6, kind="tool")
one_copy = grads.grad_w[0]  # row 0 of the circulant holds exactly one copy of each parameter
lesson.report("one_copy_instead_of_sum_error", (one_copy - grads.grad_u).abs().max().item(),
              "what one copy's gradient would get wrong: max |dC/dw[0, j] - dC/du[j]|", at_least=1e-3, kind="tool")

# %% [markdown]
# ## The induced update: tied copies move together
# A step u ← u − lr·dC/du changes the weights by −lr·(dH/du)(dH/du)ᵀ dC/dw. For sharing,
# (dH/du)(dH/du)ᵀ is 1 wherever two weights copy the same parameter, so *every* copy moves by
# the summed gradient of its group and the copies stay equal. A plain step on w instead
# moves each copy by its own gradient, and the tie is broken after one step.

# %%
step = tied_and_untied_step(problem, lr=0.1)
lesson.show(plot_tied_step(problem.index, step.change_tied, step.change_untied), "tied_vs_untied_step")
lesson.report("induced_update_error", step.formula_error,
              "max |change of w after a step on u - (-lr (dH/du)(dH/du)^T dC/dw)|", bound=1e-12, kind="tool")
lesson.report("tied_step_spread", spread_within_copies(step.w + step.change_tied, problem.index),
              "largest difference between copies after the step on u: still tied", bound=1e-12, kind="tool")
lesson.report("untied_step_spread", spread_within_copies(step.w + step.change_untied, problem.index),
              "largest difference between copies after a plain step on w: the tie is broken", at_least=1e-3,
              kind="tool")
lesson.report("cost_drop_tied_step", step.cost_before - step.cost_tied,
              "decrease of C after the step on u (lr 0.1): a descent step", at_least=0)
lesson.report("cost_drop_untied_step", step.cost_before - step.cost_untied,
              "decrease of C after the plain step on w: larger (16 free directions, not 4), but w is no longer circulant")

# %% [markdown]
# ## Exact for copies, first order in general
# The induced-update formula comes from a first-order expansion of H, so it is exact only when
# H is linear. For the copying H the difference between the true change of w and the formula
# is rounding error at every step size; for the rank-one H it shrinks like lr², the signature
# of a second-order term (halve the step, quarter the error).

# %%
lrs = [10.0 ** p for p in torch.linspace(-4, -1, 7).tolist()]
residual_rank_one = [induced_update_residual(rank_one, u_rank_one, problem.cost, lr) for lr in lrs]
residual_sharing = [induced_update_residual(problem.H, problem.u, problem.cost, lr) for lr in lrs]
lesson.show(plot_induced_update_residual(lrs, {"rank-one H (non-linear)": residual_rank_one,
                                               "weight sharing H (linear)": residual_sharing}),
            "induced_update_residual")
slope = math.log(residual_rank_one[-1] / residual_rank_one[0]) / math.log(lrs[-1] / lrs[0])
lesson.report("low_rank_residual_slope", slope, "log-log slope of the rank-one residual against lr: 2",
              bound=2.05, at_least=1.95, kind="tool")
lesson.report("sharing_residual_max", max(residual_sharing),
              "largest residual for the copying H over lr in [1e-4, 0.1]: only rounding", bound=1e-12, kind="tool")

# %% [markdown]
# ## Hypernetworks: H is a network, and it reads a context
# In a hypernetwork, H(context, u) is itself a network whose output is the whole weight vector
# of G. Task: fit curves y = a·sin(b·x + c), where the context (a, b, c) says which curve;
# test contexts are new. G is a 16-unit tanh net on x (49 weights). The hypernetwork, a
# 64-unit net from the context to those 49 weights, builds a G for every context. The
# baselines are one fixed G with its own weights: the same G fed [a, b, c, x] (same
# information), the same G fed only x, and a wide G with as many parameters as the
# hypernetwork. Same data, optimiser, step size, epochs and shuffling for all; each error is
# the median test MSE of the last 5 epochs, since single epochs are noisy.

# %%
contexts, points, epochs = (120, 20, 20) if lesson.fast else (300, 25, 60)
train, test = sine_family(contexts, points, lesson.seed), sine_family(50, 40, lesson.seed + 1)
builders = {"hypernetwork": lambda: HyperNetwork(hidden=16, hyper_hidden=64),
            "fixed G, sees context": lambda: FixedTarget(hidden=16),
            "wide fixed G, sees context": lambda: FixedTarget(hidden=570),
            "fixed G, x only": lambda: FixedTarget(hidden=16, sees_context=False)}
models = {}
for name, build in builders.items():
    torch.manual_seed(lesson.seed)  # every model starts from its own seeded weights
    models[name] = build()
histories = train_models(models, train, test, epochs=epochs, lr=5e-3 if lesson.fast else 2e-3,
                         batch_size=128, seed=lesson.seed)
counts = {name: parameter_count(model) for name, model in models.items()}
lesson.show(plot_test_curves(histories, counts), "hypernetwork_test_error")
lesson.record("parameter_counts", counts)
errors = {name: final_test_error(history) for name, history in histories.items()}
lesson.report("test_target_variance", test[1].var().item(), "variance of y on the test set: the error scale")
lesson.report("hypernetwork_test_mse", errors["hypernetwork"], "test MSE, hypernetwork (3441 parameters)",
              bound=0.05)
lesson.report("fixed_g_test_mse", errors["fixed G, sees context"],
              "test MSE, fixed G with the context as input (97 parameters)")
lesson.report("wide_fixed_g_test_mse", errors["wide fixed G, sees context"],
              "test MSE, fixed G with context, 570 hidden units (3421 parameters)")
lesson.report("blind_fixed_g_test_mse", errors["fixed G, x only"],
              "test MSE, fixed G that sees x only (49 parameters): the average curve at best")
lesson.report("fixed_over_hypernetwork_mse", errors["fixed G, sees context"] / errors["hypernetwork"],
              "how many times larger the same-size fixed G's test error is", at_least=5)
lesson.report("wide_over_hypernetwork_mse", errors["wide fixed G, sees context"] / errors["hypernetwork"],
              "the same for the fixed G with as many parameters as the hypernetwork", at_least=2)

# %% [markdown]
# ## What the fitted curves look like
# On a few unseen contexts, the hypernetwork's G follows amplitude, frequency and phase.
# The fixed G that sees the context has to encode the whole family in one set of 16 units
# and blurs the curves; the one that sees only x draws one compromise curve for all.

# %%
shown_contexts = random_contexts(6, torch.Generator().manual_seed(lesson.seed + 2))
x = torch.linspace(*X_RANGE, 200)
predictions = {name: curves_for(model, shown_contexts, x) for name, model in models.items()}
true_curves = sine_curve(shown_contexts[:, None, :], x[None, :])
lesson.show(plot_hypernetwork_fits(x, true_curves, predictions, shown_contexts), "hypernetwork_fits")
lesson.report("shown_curves_hypernetwork_mse", ((predictions["hypernetwork"] - true_curves) ** 2).mean().item(),
              "MSE of the hypernetwork on the 6 curves shown")

# %% [markdown]
# ## What the lecture claims, and what this lesson shows
# Each claim of the source text that this lesson tests, with the summary numbers behind its
# status. The chain rule and the summed gradients are identities, checked here to rounding
# error; the hypernetwork's advantage is an empirical result on one small task and one seed.

# %%
lesson.claim("gradient_through_h", source=f"{LECTURE}, §Parameter transformations",
             claim="when w = H(u), the gradient for u is (dH/du)ᵀ dC/dw", status="reproduced",
             evidence=["chain_rule_error", "tied_jacobian_error"],
             note="an identity of the chain rule; autograd agrees with the explicit Jacobian to rounding")
lesson.claim("induced_update_of_w", source=f"{LECTURE}, §Parameter transformations",
             claim="a step on u moves w by −η (dH/du)(dH/du)ᵀ dC/dw", status="partial",
             evidence=["induced_update_error", "sharing_residual_max", "low_rank_residual_slope"],
             note="exact when H is linear (sharing); for a non-linear H only to first order, the error grows like η²")
lesson.claim("shared_gradients_add", source=f"{LECTURE}, §A simple parameter transformation: weight sharing",
             claim="weights copied from one parameter are kept equal, and that parameter's gradient is the sum "
                   "of the copies' gradients", status="reproduced",
             evidence=["tied_gradient_error", "one_copy_instead_of_sum_error", "tied_step_spread"])
lesson.claim("hypernetwork", source=f"{LECTURE}, §Hypernetwork",
             claim="a network H(x, u) that computes the weights of G configures G for each input, a powerful idea",
             status="partial",
             evidence=["hypernetwork_test_mse", "fixed_over_hypernetwork_mse", "wide_over_hypernetwork_mse"],
             note="the hypernetwork beats fixed nets of equal and of equal-parameter size, on one synthetic "
                  "family of curves and one training seed")

# %% [markdown]
# ## References
# - NYU Deep Learning (LeCun, Canziani), lecture "Visualization of neural networks, parameter
#   transformation and fundamental concepts of convolution": §Parameter transformations,
#   §A simple parameter transformation: weight sharing, §Hypernetwork.
# - D. Ha, A. Dai, Q. V. Le (2017). HyperNetworks. ICLR 2017 (arXiv 2016).
# - J. Schmidhuber (1992). Learning to control fast-weight memories: an alternative to
#   dynamic recurrent networks. Neural Computation 4(1): an early network that writes
#   another network's weights.
# - D. E. Rumelhart, G. E. Hinton, R. J. Williams (1986). Learning representations by
#   back-propagating errors. Nature 323: the chain rule through a network.

# %%
summary = lesson.finish()
