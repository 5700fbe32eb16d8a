"""The course's figure style: readable at projector distance, the same colours everywhere."""
import matplotlib as mpl

# One colour per role, reused by every lesson so a colour always means the same thing.
PALETTE = {
    "signal": "#1f77b4",
    "kernel": "#d62728",
    "output": "#2ca02c",
    "reference": "#7f7f7f",
    "padding": "#ffbb78",
    "class0": "#1f77b4",
    "class1": "#ff7f0e",
}
DIVERGING = "RdBu_r"  # signed maps (weights, responses): white is zero
SEQUENTIAL = "viridis"


def apply_course_style() -> None:
    mpl.rcParams.update(
        {
            "font.size": 12,
            "axes.titlesize": 13,
            "axes.labelsize": 12,
            "legend.fontsize": 11,
            "xtick.labelsize": 10,
            "ytick.labelsize": 10,
            "figure.titlesize": 15,
            "axes.grid": False,
            "figure.constrained_layout.use": True,
        }
    )
