"""The grader: runs the graded tests in a child process and writes the report itself.

    grade(exercises, submission, json_path)  ->  exit status 0 (all passed), 1 (some failed)

The tests are always this checkout's `tests/exercises/` (a submission cannot bring its
own); the submission only supplies `course/exercises/*.py`, which the tests call through
the sandbox. The child streams signed events (`channel.py`, `plugin.py`); the parent
enforces a time limit per test and for the whole run. When the child dies or a test
overruns, the parent records that test as failed, starts a new child for the tests
left, and finally marks whatever never finished. Nothing the child prints is read.
"""
from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from course import CHECKOUT_ROOT
from course.grading import channel

TESTS_DIR = CHECKOUT_ROOT / "tests" / "exercises"
TEST_FILE = re.compile(r"test_(ex\d\d)_(\w+)\.py")


class GraderError(Exception):
    """The grader itself cannot run (exit status 2)."""


@dataclass
class GradedTest:
    nodeid: str
    points: float
    status: str = "not run"  # passed | failed | timeout | crashed | not run
    message: str = ""
    seconds: float = 0.0

    @property
    def exercise(self) -> str:
        return Path(self.nodeid.split("::")[0]).stem.removeprefix("test_")

    @property
    def name(self) -> str:
        return f"{self.exercise}::{self.nodeid.split('::', 1)[1]}"

    @property
    def score(self) -> float:
        return self.points if self.status == "passed" else 0.0


@dataclass
class Limits:
    per_test_s: float = 60.0
    total_s: float = 900.0
    call_s: float = 20.0


@dataclass
class GradeRun:
    tests: list[GradedTest] = field(default_factory=list)
    seconds: float = 0.0
    child_log: str = ""


def exercise_test_files() -> dict[str, Path]:
    """{'ex04_convolution': path of its graded tests} for every exercise of this checkout."""
    if not TESTS_DIR.is_dir():
        raise GraderError(f"no graded tests at {TESTS_DIR}: the grader needs an (editable) checkout of the course")
    return {f"{m[1]}_{m[2]}": path for path in sorted(TESTS_DIR.glob("test_ex*.py")) if (m := TEST_FILE.fullmatch(path.name))}


def select_exercises(requested) -> dict[str, Path]:
    """Test files for the requested exercises ('ex04' or 'ex04_convolution'); all when none asked."""
    available = exercise_test_files()
    if not requested:
        return available
    chosen = {}
    for name in requested:
        matches = {k: v for k, v in available.items() if k == name or k.split("_")[0] == name}
        if not matches:
            valid = ", ".join(k.split("_")[0] for k in available) or "none"
            raise ValueError(f"unknown exercise {name!r}; valid: {valid}")
        chosen.update(matches)
    return chosen


def check_submission(submission: Path) -> Path:
    submission = Path(submission).resolve()
    if not submission.is_dir():
        raise ValueError(f"submission folder {submission} does not exist")
    if not (submission / "course" / "exercises").is_dir():
        raise ValueError(f"{submission} is not a course copy: it has no course/exercises/ folder "
                         "(pass the root of a copy made by `python -m course release`)")
    return submission


class _Child:
    """One pytest process with the grader plugin, and the signed events it streams."""

    def __init__(self, pytest_args, submission: Path, limits: Limits, log):
        self.key = channel.new_key()
        read_end, write_end = os.pipe()
        key_read, key_write = os.pipe()
        os.write(key_write, self.key)  # 32 bytes fit in any pipe buffer
        os.close(key_write)
        env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "MPLBACKEND": "Agg",
               "COURSE_SUBMISSION": str(submission), "COURSE_GRADER_FD": str(write_end),
               "COURSE_GRADER_KEY_FD": str(key_read),
               "COURSE_CALL_TIMEOUT": str(limits.call_s), "PYTHONDONTWRITEBYTECODE": "1"}
        command = [sys.executable, "-m", "pytest", "-p", "course.grading.plugin", "-p", "no:cacheprovider",
                   "-q", "--no-header", "--color=no", "-o", "addopts=", "--rootdir", str(CHECKOUT_ROOT),
                   "-c", str(CHECKOUT_ROOT / "pytest.ini"), *pytest_args]
        self.process = subprocess.Popen(command, cwd=CHECKOUT_ROOT, env=env, stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT, pass_fds=[write_end, key_read],
                                        start_new_session=True)
        os.close(write_end)
        os.close(key_read)
        self.pipe = read_end
        self.buffer = b""

    def events(self, timeout: float):
        """Events that arrived within `timeout` seconds; None once the child closed the pipe."""
        ready, _, _ = select.select([self.pipe], [], [], timeout)
        if not ready:
            return []
        chunk = os.read(self.pipe, 65536)
        if not chunk:
            return None
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        return [e for line in lines if line and (e := channel.verify(self.key, line)) is not None]

    def kill(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the child and its sandbox workers
        except ProcessLookupError:
            pass
        self.process.wait()
        os.close(self.pipe)


def _check_points(tests):
    unmarked = [t.nodeid for t in tests if not isinstance(t.points, (int, float))]
    if unmarked:
        raise GraderError(f"graded tests without @pytest.mark.points(n): {', '.join(unmarked)}")


def collect(test_files, submission: Path, limits: Limits) -> list[GradedTest]:
    """The graded tests and their points, collected in a child (no student code runs there)."""
    with tempfile.TemporaryFile() as log:
        child = _Child(["--collect-only", *map(str, test_files)], submission, limits, log)
        tests, errors, deadline = [], [], time.monotonic() + 120
        while (events := child.events(1.0)) is not None and time.monotonic() < deadline:
            for event in events:
                if event["event"] == "collected":
                    tests.append(GradedTest(event["nodeid"], event["points"]))
                elif event["event"] == "collect_error":
                    errors.append(f"{event['nodeid']}: {event['message']}")
        child.kill()
        if errors or not tests:
            log.seek(0)
            raise GraderError("collecting the graded tests failed:\n" + ("\n".join(errors) or log.read().decode()[-3000:]))
    _check_points(tests)
    return tests


def run_tests(tests: list[GradedTest], submission: Path, limits: Limits, progress=None, files=()) -> GradeRun:
    """Run every test, restarting the child after a crash or an overrun, within the limits.

    With `files` instead of `tests`, the first child collects the tests as it starts (one
    process start saved); later children get the node ids of the tests still pending.
    """
    tests = list(tests)
    run, started = GradeRun(tests), time.monotonic()
    by_id = {t.nodeid: t for t in tests}
    deadline = started + limits.total_s
    with tempfile.TemporaryFile() as log:
        while (pending := [t for t in tests if t.status == "not run"] or (not tests and files)) \
                and time.monotonic() < deadline:
            args = [t.nodeid for t in pending] if tests else [str(f) for f in files]
            child = _Child(args, submission, limits, log)
            current, since, progressed, child_gone = None, time.monotonic(), False, False
            while True:
                events = child.events(0.2)
                now = time.monotonic()
                for event in events or []:
                    if event["event"] == "collected" and event["nodeid"] not in by_id:
                        by_id[event["nodeid"]] = GradedTest(event["nodeid"], event["points"])
                        tests.append(by_id[event["nodeid"]])
                        continue
                    if event["event"] == "collect_error":
                        raise GraderError(f"collecting the graded tests failed: {event['message']}")
                    test = by_id.get(event.get("nodeid"))
                    if test is None or test.status != "not run":
                        continue
                    if event["event"] == "start":
                        _check_points(tests)
                        current, since, progressed = test, now, True
                    elif event["event"] == "end":
                        test.status, test.message, test.seconds = event["outcome"], event["message"], now - since
                        if test.status == "skipped":
                            test.status = "failed"  # a graded test that did not run earns nothing
                        current = None
                        if progress:
                            progress(test)
                if events is None:  # the child is gone
                    child_gone = True
                    if current is not None:
                        current.status = "crashed"
                        current.message = ("the test process ended during this test "
                                           f"(exit status {child.process.wait()}); the submission may have crashed it")
                    break
                if current is not None and now - since > limits.per_test_s:
                    current.status, current.message = "timeout", f"did not finish within {limits.per_test_s:g} s"
                    current.seconds = now - since
                    break
                if now > deadline:
                    break
            child.kill()
            if progress and current is not None and current.status in ("timeout", "crashed"):
                progress(current)
            if child_gone and not progressed:
                log.seek(0)
                run.child_log = log.read().decode(errors="replace")[-4000:]
                raise GraderError("the test process exited before running any test:\n" + run.child_log)
    run.tests = tests
    for test in tests:
        if test.status == "not run":
            test.message = f"did not finish: the whole run exceeded its {limits.total_s:g} s limit"
    run.seconds = time.monotonic() - started
    return run


def grade(requested=(), submission: Path | None = None, limits: Limits | None = None, progress=None) -> GradeRun:
    limits = limits or Limits()
    submission = check_submission(submission or CHECKOUT_ROOT)
    files = select_exercises(requested)
    if not files:
        raise GraderError(f"no graded tests in {TESTS_DIR}")
    return run_tests([], submission, limits, progress, files=list(files.values()))
