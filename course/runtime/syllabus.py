"""The syllabus, and finding the lesson files in lessons/ (lesson.py's run_lesson runs them).

A lesson is `lessons/NN_<slug>.py`, a cell-format file that runs top to bottom (see lesson.py).
`find_lesson` accepts its number ("4", "04"), its slug ("convolution"), its file stem, or an
exercise's name ("ex04"); a misspelt one gets a "did you mean".
"""
from __future__ import annotations

import difflib
import re
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


def lesson_keys(entry: LessonEntry) -> tuple[str, ...]:
    """Every name a lesson answers to: 4, 04, ex04, ex4, convolution, 04_convolution."""
    return (str(entry.number), f"{entry.number:02d}", f"ex{entry.number}", f"ex{entry.number:02d}", entry.slug,
            entry.stem, f"ex{entry.stem}")


def find_lesson(key: str) -> LessonEntry:
    key = str(key).strip().lower().removesuffix(".py")
    key = key.rsplit("/", 1)[-1]  # lessons/04_convolution.py
    for entry in SYLLABUS:
        if key in lesson_keys(entry):
            if not entry.present:
                raise LessonNotFound(f"lesson {entry.stem} is in the syllabus but not written yet; "
                                     f"present: {present_names()}")
            return entry
    names = [name for e in SYLLABUS if e.present for name in (e.slug, e.stem)]
    guess = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
    hint = f"did you mean {guess[0]!r}? " if guess else ""
    raise LessonNotFound(f"unknown lesson {key!r}; {hint}valid: {present_names()} (or 'all')")


def exercise_key(name: str) -> str:
    """The grader's name for an exercise: 'ex4', 'EX04', '4', '04' or 'convolution' -> 'ex04';
    any other name (ex04_convolution, a typo) is returned as given, for the grader to judge."""
    key = str(name).strip().lower()
    match = re.fullmatch(r"(?:ex)?0*(\d{1,2})", key)
    if match:
        return f"ex{int(match.group(1)):02d}"
    return next((f"ex{e.number:02d}" for e in SYLLABUS if key == e.slug), name)


def present_names() -> str:
    names = [f"{e.number:02d} ({e.slug})" for e in SYLLABUS if e.present]
    return ", ".join(names) or "none"
