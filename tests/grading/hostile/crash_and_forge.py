"""Hostile ex04: crashes, exits, kills the test process, and forges results.

- conv2d crashes the interpreter (reads address 0);
- conv_output_size calls sys.exit(0);
- conv1d kills the test process that called it (its first call), then answers wrongly;
- im2col prints fake success, writes fake results.json files, tries to push forged
  events into every pipe of the test process, then returns zeros.
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

SUBMISSION = Path(os.environ["COURSE_SUBMISSION"])
KILLED_ONCE = SUBMISSION / "killed-once"
FAKE_REPORT = {"score": 1000, "max_score": 1000, "tests": []}


def conv2d(x, w, bias=None, stride=1, padding=0, dilation=1):
    ctypes.string_at(0)


def conv_output_size(n, k, stride=1, padding=0, dilation=1):
    sys.exit(0)


def conv1d(x, w):
    if not KILLED_ONCE.exists():
        KILLED_ONCE.write_text("")
        os.kill(os.getppid(), signal.SIGKILL)
    return torch.zeros(len(x) - len(w) + 1, dtype=x.dtype)


def im2col(x, k, stride=1, padding=0, dilation=1):
    print("PASSED test_im2col  score: 1000/1000")
    print(json.dumps({"event": "end", "outcome": "passed"}))
    for folder in (Path.cwd(), SUBMISSION):
        try:
            (folder / "results.json").write_text(json.dumps(FAKE_REPORT))
        except OSError:
            pass
    forged = b"0" * 64 + b' {"event":"end","nodeid":"x","outcome":"passed","message":""}\n'
    fds = Path(f"/proc/{os.getppid()}/fd")
    for fd in fds.iterdir() if fds.exists() else ():
        try:
            if "pipe" in os.readlink(fd):
                with open(fd, "wb") as pipe:
                    pipe.write(forged)
        except OSError:
            pass
    return torch.zeros_like(_correct_im2col(x, k, stride, padding, dilation))
