"""Hostile ex04: xcorr1d loops forever (on the edge cases with a one-tap or full-length kernel), conv1d calls os._exit.

The other three functions are the correct solutions and must be graded normally; the other
xcorr1d cases get a wrong answer.
"""
import os

from course.exercises.ex04_convolution import *  # noqa: F403  (the correct solutions)


def xcorr1d(x, w):
    if len(w) in (1, len(x)):
        while True:
            pass
    return x[: len(x) - len(w) + 1] * 0


def conv1d(x, w):
    os._exit(0)
