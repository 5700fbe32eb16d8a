"""Call a student's exercise functions in a separate process, so their code cannot touch the tests.

The graded tests never import student code. They hold a proxy,

    ex04 = exercise("ex04_convolution", forbid=["torch.nn.functional.conv2d"])
    ex04.xcorr1d(x, w)          # runs in the sandbox process, returns its result

and every call is shipped to a worker process (`sandbox_worker.py`) that imported the
student's module. Why a process: a student function that loops forever, calls
`os._exit` or `sys.exit`, or crashes the interpreter costs the test that called it and
nothing else; whatever it prints goes to the captured output, never into the score.
Results come back through `torch.load(weights_only=True)`, which only rebuilds tensors and
plain Python values, so a returned object cannot run code in the test process.

The submission is the folder named by $COURSE_SUBMISSION (default: this checkout); its
exercises live in `course/exercises/<exercise>.py`.
"""
from __future__ import annotations

import atexit
import io
import os
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

import torch

from course import CHECKOUT_ROOT

CALL_TIMEOUT_S = float(os.environ.get("COURSE_CALL_TIMEOUT", "20"))
START_TIMEOUT_S = float(os.environ.get("COURSE_START_TIMEOUT", "120"))
MAX_RESULT_BYTES = 512 * 2**20


class SubmissionError(RuntimeError):
    """The student's code failed: raised, timed out, crashed or returned something unusable."""


def submission_root() -> Path:
    return Path(os.environ.get("COURSE_SUBMISSION", CHECKOUT_ROOT)).resolve()


def pack(value) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def unpack_untrusted(data: bytes):
    """Rebuild what the sandbox sent: tensors and plain values only, never arbitrary objects."""
    return torch.load(io.BytesIO(data), weights_only=True)


class ExerciseProxy:
    """Stands for one exercise module of the submission; attribute access gives remote calls."""

    def __init__(self, exercise: str, forbid=()):
        self._exercise = exercise
        self._forbid = list(forbid)
        self._process = None
        self._connection = None
        self._broken = None  # why the module cannot be loaded at all: fail fast on every call

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def remote(*args, **kwargs):
            return self._call(name, args, kwargs)

        remote.__name__ = name
        return remote

    def __repr__(self):
        return f"<exercise {self._exercise} of submission {submission_root()}>"

    # -- the worker process -------------------------------------------------------
    def _start(self):
        path = submission_root() / "course" / "exercises" / f"{self._exercise}.py"
        ours, theirs = _socket_pair()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "course.grading.sandbox_worker", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            cwd=CHECKOUT_ROOT,  # so `-m` finds the grader's own worker, never a submission's
            env=_worker_environment(),
        )
        theirs.close()
        self._connection = ours
        self._send(("load", self._exercise, str(path), self._forbid, str(submission_root())))
        reply = self._receive(START_TIMEOUT_S, f"loading {self._exercise}")
        if not reply["ok"]:
            self._stop()
            self._broken = reply["error"]
            raise SubmissionError(self._broken)

    def _stop(self):
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None

    def _send(self, message):
        self._connection.send_bytes(pack(message))

    def _receive(self, timeout: float, doing: str):
        deadline = time.monotonic() + timeout
        while not self._connection.poll(max(0.0, deadline - time.monotonic())):
            if time.monotonic() >= deadline:
                self._stop()
                raise SubmissionError(f"{doing} did not finish within {timeout:g} s (infinite loop?)")
        try:
            data = self._connection.recv_bytes(MAX_RESULT_BYTES)
        except (EOFError, OSError):
            code = self._process.wait()
            self._stop()
            raise SubmissionError(
                f"the submission's process ended while {doing} (exit status {code}): "
                "a call to sys.exit/os._exit or a crash in the student's code"
            ) from None
        try:
            return unpack_untrusted(data)
        except Exception:
            self._stop()
            raise SubmissionError(f"{doing}: the submission sent back something that is not plain data") from None

    def _call(self, name, args, kwargs):
        if self._broken:
            raise SubmissionError(self._broken)
        if self._process is None or self._process.poll() is not None:
            self._start()
        self._send(("call", name, args, kwargs))
        reply = self._receive(CALL_TIMEOUT_S, f"{self._exercise}.{name}")
        if reply["ok"]:
            return reply["value"]
        if reply["type"] == "NotImplementedError":
            raise NotImplementedError(reply["message"])
        raise SubmissionError(f"{name} raised {reply['type']}: {reply['message']}\n{reply['traceback']}")


def _socket_pair():
    import socket

    a, b = socket.socketpair()
    ours = Connection(os.dup(a.fileno()))
    a.close()
    return ours, b


def _worker_environment():
    # The worker needs nothing of the grader's private settings.
    return {k: v for k, v in os.environ.items() if not k.startswith("COURSE_GRADER")}


_proxies: list[ExerciseProxy] = []


def exercise(name: str, forbid=()) -> ExerciseProxy:
    """A proxy for the submission's `course/exercises/<name>.py` (loaded on first call)."""
    proxy = ExerciseProxy(name, forbid)
    _proxies.append(proxy)
    return proxy


@atexit.register
def _stop_all():
    for proxy in _proxies:
        proxy._stop()
