"""Hostile ex04: xcorr1d loops forever (on its first call), conv1d calls os._exit.

The other three functions are the correct solutions and must be graded normally.
"""
import os
from pathlib import Path

from course.exercises.ex04_convolution import *  # noqa: F403  (the correct solutions)

FIRST_CALL = Path(os.environ["COURSE_SUBMISSION"]) / "looped-once"


def xcorr1d(x, w):
    if not FIRST_CALL.exists():
        FIRST_CALL.write_text("")
        while True:
            pass
    return x[: len(x) - len(w) + 1] * 0


def conv1d(x, w):
    os._exit(0)
