"""A hostile upload graded as on Gradescope: `python -m course grade` as root, results.json on disk.

One run of the real command line covers every attack of hostile/attacks.py (stealing solutions and
tests, writing into the grader's files, signals, ptrace and /proc/<pid>/mem on every process in
sight, a setsid double-forked daemon rewriting the report, memory, fork and disk bombs, an output
flood, forged events, forbidden routes to torch's own operators). Every answer is wrong, so the
score must be 0; the report must be valid and stay as written; the grader's files must be as they
were; and no process of the sandbox may be left.
"""
import json
import os
from pathlib import Path

import pytest

from course import CHECKOUT_ROOT

from grading_support import MARKER, root_only, sandbox_processes, tree_signature

pytestmark = [pytest.mark.slow, root_only]


@pytest.fixture(scope="module")
def hostile_grading(hostile_run, batch):
    """(the finished command, the report as first written, its path, the checkout's signature and the
    sandbox processes before).

    It asks for the batch too: the batch starts this run first, so the two share the cores."""
    return hostile_run.wait()


def test_every_attack_scores_zero_and_the_report_is_valid(hostile_grading):
    done, written, report, *_ = hostile_grading
    assert done.returncode == 1, done.stderr[-3000:]
    results = json.loads(written)
    assert results["score"] == 0 and results["max_score"] > 0
    assert all(t["score"] == 0 and t["status"] == "failed" for t in results["tests"])
    assert report.read_text() == written, "the report was rewritten after the grader wrote it"
    assert "1000" not in json.dumps(results.get("score"))


def test_the_attacks_show_in_the_report_as_the_limits_and_rules_they_hit(hostile_grading):
    results = json.loads(hostile_grading[1])
    outputs = "\n".join(t["output"] for t in results["tests"])
    assert "hit the memory limit (2 GiB)" in outputs
    assert "aten::im2col" in outputs and "which this exercise forbids" in outputs
    assert "the test process ended" not in outputs  # no signal reached the test process
    assert "private notes" not in outputs and "def xcorr1d" not in outputs and "COURSE_GRADER" not in outputs
    assert all(len(t["output"]) <= 4000 for t in results["tests"])  # the output flood is capped


def test_the_grader_files_are_unchanged_and_nothing_is_left_running(hostile_grading):
    *_, before, processes_before = hostile_grading
    after = tree_signature(CHECKOUT_ROOT)
    changed = sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))
    touched = [path for path in changed if os.path.isfile(path) and MARKER in Path(path).read_text(errors="ignore")]
    assert not touched, touched
    assert not [p for p in changed if p.endswith("conftest.py") or p.endswith("sitecustomize.py")], changed
    assert not sandbox_processes() - processes_before


@pytest.mark.parametrize("label, reason", [
    ("imports-solution", "No module named 'course.exercises'"),
    ("symlinked-solution", "is a symbolic link: only regular files are graded"),
    ("fifo", "is not a regular file: only regular files are graded"),
])
def test_uploads_reaching_for_the_solution_score_zero_with_the_reason(batch, label, reason):
    run = batch[label]
    assert run.tests and all(t.status == "failed" for t in run.tests)
    assert all(reason in t.message for t in run.tests), run.tests[0].message
