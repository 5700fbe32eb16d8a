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
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course import CHECKOUT_ROOT

from grading_support import HOSTILE, root_only, sandbox_processes, upload_of

pytestmark = [pytest.mark.slow, root_only]
MARKER = "HOSTILE-SUBMISSION-WAS-HERE"
SKIPPED = {".git", ".venv", "__pycache__", ".pytest_cache", "figures", "build"}


def tree_signature(root: Path) -> dict:
    """Every file of the grader's checkout with its size and modification time (content changes show)."""
    signature = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED and not d.endswith(".egg-info")]
        for name in files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            signature[path] = (info.st_size, info.st_mtime_ns, info.st_ino)
    return signature


@pytest.fixture(scope="module")
def hostile_grading(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    upload, report = folder / "upload", folder / "results" / "results.json"
    source = (HOSTILE / "attacks.py").read_text()
    for placeholder, value in (("@CHECKOUT@", CHECKOUT_ROOT), ("@UPLOAD@", upload), ("@REPORT@", report)):
        source = source.replace(placeholder, str(value))
    upload_of(upload, {"ex04_convolution.py": source, "notes/secret.txt": "the student's private notes"})
    before = tree_signature(CHECKOUT_ROOT)
    done = subprocess.run([sys.executable, "-m", "course", "grade", "ex04", "--submission", str(upload), "--json",
                           str(report), "--call-timeout", "4", "--memory", "2"],
                          capture_output=True, text=True, cwd=folder, timeout=900)
    written = report.read_text()
    time.sleep(1.0)  # a daemon left behind would rewrite the report by now
    return done, written, report, before


def test_every_attack_scores_zero_and_the_report_is_valid(hostile_grading):
    done, written, report, _ = hostile_grading
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
    *_, before = hostile_grading
    after = tree_signature(CHECKOUT_ROOT)
    changed = sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))
    touched = [path for path in changed if os.path.isfile(path) and MARKER in Path(path).read_text(errors="ignore")]
    assert not touched, touched
    assert not [p for p in changed if p.endswith("conftest.py") or p.endswith("sitecustomize.py")], changed
    assert not sandbox_processes()


@pytest.mark.parametrize("label, reason", [
    ("imports-solution", "No module named 'course.exercises'"),
    ("symlinked-solution", "is a symbolic link: only regular files are graded"),
    ("fifo", "is not a regular file: only regular files are graded"),
])
def test_uploads_reaching_for_the_solution_score_zero_with_the_reason(batch, label, reason):
    run = batch[label]
    assert run.tests and all(t.status == "failed" for t in run.tests)
    assert all(reason in t.message for t in run.tests), run.tests[0].message
