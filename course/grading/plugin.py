"""pytest plugin loaded in the grader's test process: streams each test's outcome to the grader.

Loaded with `-p course.grading.plugin` only by `course grade`. On start it makes the process
non-dumpable (no ptrace, no /proc/<pid>/mem, even by a process of the same user), reads the
channel key from the pipe in $COURSE_GRADER_KEY_FD (then closes it) and writes signed events to
the file descriptor in $COURSE_GRADER_FD:

    {"event": "collected", "nodeid": ..., "points": n, "submission": label or None}   (before any test runs)
    {"event": "start", "nodeid": ...}
    {"event": "end", "nodeid": ..., "outcome": "passed" | "failed" | "skipped", "message": ...}

so a run that is killed half-way still tells what finished.

When the grader grades several uploads in one run ($COURSE_SUBMISSION_SET: {label: {"folder": ...,
"functions": [...]}}), every test of exercise exNN runs once per upload that has a file for exNN
(and, when `functions` is not empty, only for those functions): the plugin adds a module-scoped
parameter, so the tests of one upload run together and its sandbox is reused.
"""
import json
import os
import re

import pytest

from course.grading.channel import KEY_BYTES, sign
from course.grading.confine import not_dumpable

MESSAGE_CHARS = 3000
_state = {"key": None, "stream": None, "outcomes": {}, "submissions": {}}
SUBMISSION_PARAMETER = "graded_submission"


def _emit(event: dict):
    stream = _state["stream"]
    if stream is not None:
        stream.write(sign(_state["key"], event))
        stream.flush()


def pytest_configure(config):
    import torch

    torch.set_num_threads(1)  # small tensors; one thread is fastest on a shared machine (no conftest here)
    set_file = os.environ.get("COURSE_SUBMISSION_SET")
    if set_file:
        with open(set_file) as file:
            _state["submissions"] = json.load(file)
    fd = os.environ.get("COURSE_GRADER_FD")
    if fd is None:
        return
    not_dumpable()
    key_fd = int(os.environ.pop("COURSE_GRADER_KEY_FD"))
    _state["key"] = os.read(key_fd, KEY_BYTES)
    os.close(key_fd)
    os.set_inheritable(int(fd), False)  # the sandbox must not get the pipe
    _state["stream"] = os.fdopen(int(fd), "wb", buffering=0)


def pytest_generate_tests(metafunc):
    submissions = _state["submissions"]
    match = re.fullmatch(r"test_(ex\d\d_\w+)\.py", os.path.basename(str(metafunc.definition.fspath)))
    if not submissions or not match:
        return
    from course.grading.grade import GradedTest

    exercise = match[1]
    function = GradedTest(f"{os.path.basename(str(metafunc.definition.fspath))}::{metafunc.function.__name__}", 0).function
    labels = [label for label, upload in submissions.items()
              if any(os.path.exists(os.path.join(upload["folder"], f"{exercise}{suffix}")) for suffix in (".py", ".refused"))
              and (not upload["functions"] or function in upload["functions"])]
    metafunc.fixturenames.append(SUBMISSION_PARAMETER)
    metafunc.parametrize(SUBMISSION_PARAMETER, labels, ids=labels, scope="module")


@pytest.fixture(autouse=True)
def _switch_submission(request):
    """Before each test: grade the upload its parameter names (a no-op while it stays the same)."""
    callspec = getattr(request.node, "callspec", None)
    label = callspec.params.get(SUBMISSION_PARAMETER) if callspec else None
    if label is not None:
        from course.grading.sandbox import use_submission

        use_submission(_state["submissions"][label]["folder"])


def pytest_collection_finish(session):
    for item in session.items:
        marker = item.get_closest_marker("points")
        points = marker.args[0] if marker and marker.args else None
        callspec = getattr(item, "callspec", None)
        label = callspec.params.get(SUBMISSION_PARAMETER) if callspec else None
        _emit({"event": "collected", "nodeid": item.nodeid, "points": points, "submission": label})


def pytest_collectreport(report):
    if report.failed:
        _emit({"event": "collect_error", "nodeid": report.nodeid, "message": str(report.longrepr)[-MESSAGE_CHARS:]})


def pytest_runtest_logstart(nodeid, location):
    _state["outcomes"][nodeid] = ("passed", "")
    _emit({"event": "start", "nodeid": nodeid})


def pytest_runtest_logreport(report):
    if report.failed:
        _state["outcomes"][report.nodeid] = ("failed", failure_message(report))
    elif report.skipped and report.when == "setup":
        _state["outcomes"][report.nodeid] = ("skipped", str(report.longrepr)[-MESSAGE_CHARS:])


def pytest_runtest_logfinish(nodeid, location):
    outcome, message = _state["outcomes"].pop(nodeid, ("failed", "no result"))
    _emit({"event": "end", "nodeid": nodeid, "outcome": outcome, "message": message})


def failure_message(report) -> str:
    """The assertion or exception lines of a failure (pytest's 'E' lines), then printed output."""
    text = report.longreprtext
    lines = [line[4:] for line in text.splitlines() if line.startswith("E   ")]
    message = "\n".join(lines) if lines else text[-MESSAGE_CHARS:]
    if report.when != "call":
        message = f"(in test {report.when}) {message}"
    printed = (report.capstdout + report.capstderr).strip()
    if printed:
        message += "\n--- the submission printed ---\n" + printed[:1000]
    return message[:MESSAGE_CHARS]


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    _emit({"event": "finished", "exitstatus": int(exitstatus)})
