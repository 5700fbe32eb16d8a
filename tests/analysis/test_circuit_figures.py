"""Circuit figures: each helper returns a fixed-size figure with its title, labels and key."""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course.analysis.stimuli import gratings, high_low  # noqa: E402
from course.analysis.tuning import group_responses, preferred_angle  # noqa: E402
from course.analysis.weight_pictures import weights_to_rgb  # noqa: E402
from course.analysis.circuit_figures import image_grid, tuning_curve_figure, tuning_heatmap, weight_picture_grid  # noqa: E402
from course.runtime.style import apply_course_style  # noqa: E402

SAVE = os.environ.get("CIRCUIT_FIGURES_DIR")  # set it to look at the PNGs


@pytest.fixture(autouse=True)
def course_style():
    apply_course_style()
    yield
    plt.close("all")


def finish(fig, name):
    if SAVE:
        fig.savefig(os.path.join(SAVE, f"{name}.png"), dpi=100)
    return fig


def test_weight_picture_grid_has_one_panel_per_unit_and_a_colour_key():
    weights = torch.randn(10, 12, 5, 5, generator=torch.Generator().manual_seed(0))
    rgb, _ = weights_to_rgb(weights)
    fig = finish(weight_picture_grid(rgb, titles=[f"unit {i}" for i in range(10)], ncols=5), "weight_pictures")
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(visible) == 10 and visible[3].get_title() == "unit 3"
    assert len(fig.legends) == 1 and len(fig.legends[0].get_texts()) == 7
    assert fig._suptitle.get_text()


def test_image_grid_shows_one_and_three_channel_images():
    images, params = high_low(orientations_deg=(0, 90, 180, 270), ratios=(1, 5), phases=(0.0,))
    titles = [f"θ={o:.0f}, ratio {r:.0f}" for o, r in zip(params["orientation"], params["ratio"])]
    fig = finish(image_grid(images, titles=titles, ncols=4, title="High-low stimuli"), "image_grid")
    assert len([ax for ax in fig.axes if ax.axison]) == 8
    grey = image_grid(images[:3, :1], ncols=8)
    assert len([ax for ax in grey.axes if ax.axison]) == 3
    assert tuple(fig.get_size_inches()) == pytest.approx((8.1, 4.7))


def test_tuning_curve_figure_marks_preferred_angles():
    angles = torch.arange(0, 360, 15.0)
    curves = {f"unit {u}": torch.exp(2 * torch.cos(torch.deg2rad(angles - 90 * u))) for u in range(3)}
    preferred = {label: preferred_angle(angles, c) for label, c in curves.items()}
    fig = finish(tuning_curve_figure(angles, curves, preferred=preferred, period=360), "tuning_curves")
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title()
    assert len(ax.get_legend().get_texts()) == 3
    assert len(ax.lines) == 3 + 3 + 1  # curves, preferred-angle lines, zero line


def test_tuning_heatmap_has_a_colour_bar_and_labelled_ticks():
    images, params = gratings(orientations_deg=range(0, 180, 15), frequencies=(0.05, 0.1, 0.2))
    responses = images[:, 0, 16, :20].mean(dim=1)
    (orientations, frequencies), table = group_responses(responses, params, ("orientation", "frequency"))
    fig = finish(tuning_heatmap(table, orientations, frequencies, xlabel="frequency (cycles/pixel)",
                                ylabel="orientation (degrees)"), "tuning_heatmap")
    assert len(fig.axes) == 2  # the heatmap and its colour bar
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["0.05", "0.1", "0.2"]
