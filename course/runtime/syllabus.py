"""The syllabus, and finding and running the lesson scripts in lessons/.

A lesson is `lessons/NN_<slug>.py` with `main(argv) -> dict` (see lesson.py).
`find_lesson` accepts its number ("4", "04"), its slug ("convolution") or its file stem.
"""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from course import CHECKOUT_ROOT

LESSONS_DIR = CHECKOUT_ROOT / "lessons"


@dataclass(frozen=True)
class LessonEntry:
    number: int
    slug: str
    title: str

    @property
    def stem(self) -> str:
        return f"{self.number:02d}_{self.slug}"

    @property
    def path(self) -> Path:
        return LESSONS_DIR / f"{self.stem}.py"

    @property
    def present(self) -> bool:
        return self.path.is_file()


SYLLABUS = [
    LessonEntry(1, "folding_space", "Two neurons fold the plane"),
    LessonEntry(2, "parameter_transformations", "Parameter transformations, weight sharing, hypernetworks"),
    LessonEntry(3, "motif_detection", "Motif detection with shared detectors"),
    LessonEntry(4, "convolution", "Convolution and cross-correlation"),
    LessonEntry(5, "deep_conv_nets", "Deep convolutional networks"),
    LessonEntry(6, "conv_kernels", "Writing convolution kernels"),
    LessonEntry(7, "group_convolution", "Group convolution and equivariance"),
    LessonEntry(8, "natural_equivariance", "Naturally occurring equivariance"),
    LessonEntry(9, "high_low_frequency", "High-low frequency detectors"),
    LessonEntry(10, "weight_banding", "Weight banding"),
]


class LessonNotFound(ValueError):
    pass


def find_lesson(key: str) -> LessonEntry:
    key = str(key).strip().lower().removesuffix(".py")
    for entry in SYLLABUS:
        if key in (str(entry.number), f"{entry.number:02d}", entry.slug, entry.stem):
            if not entry.present:
                raise LessonNotFound(f"lesson {entry.stem} is in the syllabus but not written yet; "
                                     f"present: {present_names()}")
            return entry
    raise LessonNotFound(f"unknown lesson {key!r}; valid: {present_names()} (or 'all')")


def present_names() -> str:
    names = [f"{e.number:02d} ({e.slug})" for e in SYLLABUS if e.present]
    return ", ".join(names) or "none"


def load_lesson(entry: LessonEntry):
    """Import a lesson script as a module (its cells only define steps; main() runs them)."""
    # Without a GPU, Triton must be put in interpreter mode before anything imports it;
    # `import kernels` does that, so lessons run in one process (`run all`) in any order.
    import kernels  # noqa: F401
    spec = importlib.util.spec_from_file_location(f"lesson_{entry.stem}", entry.path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_lesson(entry: LessonEntry, argv: list[str]) -> dict:
    return load_lesson(entry).main(argv)


def lesson_title(entry: LessonEntry) -> str:
    """The first line of the lesson's docstring when written, else the syllabus title."""
    if entry.present:
        import ast

        doc = ast.get_docstring(ast.parse(entry.path.read_text()))
        if doc:
            return doc.strip().splitlines()[0]
    return entry.title
