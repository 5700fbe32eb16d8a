"""Each lesson runs once per test session in fast mode; its smoke tests share that run.

The run is the real thing a student steps through: the lesson file converted by jupytext and
executed cell by cell by nbclient in a fresh kernel (COURSE_FAST=1, COURSE_OUT=a temp folder).
Without jupytext/nbclient/ipykernel (requirements-dev.txt) the file runs through
`python -m course run`'s runner instead, and tests/lessons/test_notebooks.py skips.
`python -m course run all --fast` (the README's first command) runs every lesson as a script.

Under pytest-xdist (`-n auto`, as the README runs the suite) the workers share the runs: a run
is kept in the folder all workers' temp folders live in, and a lock file per lesson makes the
first worker that needs a lesson run it while the others wait for it and read its results.
"""
import fcntl
import json
import os

import pytest

from course.runtime.lesson import run_lesson
from course.runtime.syllabus import find_lesson

from course.runtime.notebook import ExecutedNotebook, missing_tools

NOTEBOOK_TOOLS = missing_tools() is None


class LessonRuns:
    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.runs = {}  # stem -> (summary, out folder, executed notebook or None)
        # shared by every xdist worker of this session (their temp folders' parent); this session's own otherwise
        base = tmp_path_factory.getbasetemp()
        self.shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base

    def get(self, number: str):
        entry = find_lesson(number)
        if entry.stem not in self.runs:
            root = self.shared / f"lesson-{entry.stem}"
            root.mkdir(exist_ok=True)
            with open(root / "lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                self.runs[entry.stem] = self._load(entry, root) if (root / "done").exists() else self._run(entry, root)
        return self.runs[entry.stem]

    def _run(self, entry, root):
        out = root / entry.stem
        if NOTEBOOK_TOOLS:
            import nbformat

            from course.runtime.notebook import execute_notebook, lesson_notebook

            executed = execute_notebook(lesson_notebook(entry.path), cwd=root,
                                        env={"COURSE_FAST": "1", "COURSE_OUT": str(root)})
            if executed.error:
                pytest.fail(f"lesson {entry.stem} as a notebook: {executed.error}", pytrace=False)
            nbformat.write(executed.notebook, root / "executed.ipynb")
            summary = json.loads((out / "summary.json").read_text())
        else:
            summary, executed = run_lesson(entry, fast=True, out=out), None
        (root / "done").touch()
        return summary, out, executed

    def _load(self, entry, root):
        out = root / entry.stem
        executed = None
        if (root / "executed.ipynb").exists():
            import nbformat

            executed = ExecutedNotebook(nbformat.read(root / "executed.ipynb", as_version=4), None)
        return json.loads((out / "summary.json").read_text()), out, executed


@pytest.fixture(scope="session")
def lesson_runs(tmp_path_factory):
    return LessonRuns(tmp_path_factory)


@pytest.fixture(scope="session")
def fast_run(lesson_runs):
    """fast_run("04") -> (summary, output folder) of lesson 04 in fast mode, run on first use only."""
    return lambda number: lesson_runs.get(number)[:2]
