"""Each lesson runs once per test session with --fast; its smoke tests share that run."""
import pytest

from course.runtime.syllabus import find_lesson, run_lesson


@pytest.fixture(scope="session")
def fast_run(tmp_path_factory):
    """fast_run("04") -> (summary, output folder) of `python -m course run 04 --fast`, run on first use only."""
    runs = {}

    def run(number: str):
        entry = find_lesson(number)
        if entry.stem not in runs:
            out = tmp_path_factory.mktemp(entry.stem)
            runs[entry.stem] = (run_lesson(entry, fast=True, out=out), out)
        return runs[entry.stem]

    return run
