"""What the grader's meta-tests share: the student copy, and one batch that grades the instructor copy,
the released copy, every mutant and the small hostile uploads.

The batch is graded once per test session, in two grading runs side by side (one per core), each a
single test process in which every graded test runs once per upload that has its exercise
(`grade_many`). Grading each upload on its own would start a test process and import torch ~90 times.
"""
import os
import runpy
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from course import CHECKOUT_ROOT
from course.grading.grade import exercise_test_files, grade_many
from course.grading.release import release
from grading_support import (EXERCISES, FAST_LIMITS, HOSTILE, IS_ROOT, MUTANT_FILES, HostileRun, mutant_label,
                             self_contained, upload_of)


HEAVY = {"ex06": 3, "ex07": 3}


@pytest.fixture(scope="session")
def released_copy(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student-copy")
    release(out, force=True)
    return out


@pytest.fixture(scope="session")
def hostile_run(tmp_path_factory):
    return HostileRun(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="session")
def batch(tmp_path_factory, released_copy, request):
    """{label: GradeRun} for the instructor copy, the released copy, every mutant and the hostile uploads."""
    hostile = None
    if IS_ROOT and any("test_hostile.py" in item.nodeid for item in request.session.items):
        hostile = request.getfixturevalue("hostile_run")  # started first, so it runs beside the two grading runs
    root = tmp_path_factory.mktemp("uploads")
    uploads = {"instructor": CHECKOUT_ROOT, "released": released_copy}
    only = {}  # a mutant is graded on the function it breaks: its other functions are the solution's own
    for mutant in MUTANT_FILES:
        uploads[mutant_label(mutant)] = upload_of(root / mutant_label(mutant),
                                                  {f"{mutant.parent.name}.py": self_contained(mutant)})
        broken = runpy.run_path(str(mutant), run_name="mutant_inspection").get("BROKEN")
        if broken:
            only[mutant_label(mutant)] = {broken}
    for name in ("loop_and_exit", "crash_and_forge", "exits_on_import"):
        uploads[f"hostile-{name}"] = upload_of(root / name, {"ex04_convolution.py": self_contained(HOSTILE / f"{name}.py")})
    # A drag-and-drop of the right answer, in a folder of its own: graded like the copy it came from.
    uploads["dragged"] = upload_of(root / "dragged", {"my work/ex04_convolution.py": (EXERCISES / "ex04_convolution.py").read_text(),
                                                       "notes.txt": "not an exercise"})
    uploads["imports-solution"] = upload_of(root / "imports", {
        "ex04_convolution.py": "from course.exercises.ex04_convolution import *  # noqa: F403\n"})
    uploads["empty"] = upload_of(root / "empty", {"README.txt": "I forgot to attach my file"})
    linked = root / "symlinked"
    linked.mkdir()
    (linked / "ex04_convolution.py").symlink_to(EXERCISES / "ex04_convolution.py")
    uploads["symlinked-solution"] = linked
    fifo = root / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "ex04_convolution.py")
    uploads["fifo"] = fifo

    # Two runs side by side, about equal in work: ex06 (Triton's interpreter) and ex07 weigh about three others.
    halves, loads = ([], []), [0, 0]
    for exercise in sorted(exercise_test_files(), key=lambda e: -HEAVY.get(e.split("_")[0], 1)):
        lighter = loads.index(min(loads))
        halves[lighter].append(exercise)
        loads[lighter] += HEAVY.get(exercise.split("_")[0], 1)
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(lambda exercises: grade_many(uploads, exercises, FAST_LIMITS, functions=only), halves))
    if hostile is not None:
        hostile.wait()  # no test may see its sandbox processes still running
    runs = {}
    for label in uploads:
        run, other = parts[0][label], parts[1][label]
        run.tests = run.tests + other.tests
        run.notes = list(dict.fromkeys(run.notes + other.notes))
        run.error = run.error if run.error and other.error else None
        runs[label] = run
    return runs
