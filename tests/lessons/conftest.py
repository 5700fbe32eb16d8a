"""Each lesson runs once per test session in fast mode; its smoke tests share that run.

The run is the real thing a student steps through: the lesson file converted by jupytext and
executed cell by cell by nbclient in a fresh kernel (COURSE_FAST=1, COURSE_OUT=a temp folder).
Without jupytext/nbclient/ipykernel (requirements-dev.txt) the file runs through
`python -m course run`'s runner instead, and tests/lessons/test_notebooks.py skips.
`python -m course run all --fast` (the README's first command) runs every lesson as a script.
"""
import json

import pytest

from course.runtime.lesson import run_lesson
from course.runtime.syllabus import find_lesson

from course.runtime.notebook import missing_tools

NOTEBOOK_TOOLS = missing_tools() is None


class LessonRuns:
    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.runs = {}  # stem -> (summary, out folder, executed notebook or None)

    def get(self, number: str):
        entry = find_lesson(number)
        if entry.stem not in self.runs:
            root = self.tmp_path_factory.mktemp(entry.stem)
            out = root / entry.stem
            if NOTEBOOK_TOOLS:
                from course.runtime.notebook import execute_notebook, lesson_notebook

                executed = execute_notebook(lesson_notebook(entry.path), cwd=root,
                                            env={"COURSE_FAST": "1", "COURSE_OUT": str(root)})
                if executed.error:
                    pytest.fail(f"lesson {entry.stem} as a notebook: {executed.error}", pytrace=False)
                summary = json.loads((out / "summary.json").read_text())
            else:
                summary, executed = run_lesson(entry, fast=True, out=out), None
            self.runs[entry.stem] = (summary, out, executed)
        return self.runs[entry.stem]


@pytest.fixture(scope="session")
def lesson_runs(tmp_path_factory):
    return LessonRuns(tmp_path_factory)


@pytest.fixture(scope="session")
def fast_run(lesson_runs):
    """fast_run("04") -> (summary, output folder) of lesson 04 in fast mode, run on first use only."""
    return lambda number: lesson_runs.get(number)[:2]
