"""The graded tests are themselves tested: full marks, zero, every mutant caught, hostile code contained.

Each case grades a whole submission through `course.grading.grade` (a child pytest
process plus sandbox workers), so these tests are slow-ish (about 5 s each) and marked.
"""
import ast
import json
import runpy
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from course import CHECKOUT_ROOT
from course.grading.grade import Limits, collect, exercise_test_files, grade, run_tests
from course.grading.report import results_json

pytestmark = pytest.mark.slow

MUTANTS = CHECKOUT_ROOT / "tests" / "exercises" / "mutants"
HOSTILE = Path(__file__).parent / "hostile"
# Short limits keep the hostile cases fast; correct code needs far less than this.
FAST_LIMITS = Limits(per_test_s=30, total_s=300, call_s=3)


def make_submission(root: Path, files: dict[str, Path]) -> Path:
    """A submission folder whose course/exercises/<name>.py are copies of the given files."""
    exercises = root / "course" / "exercises"
    exercises.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        (exercises / f"{name}.py").write_text(source.read_text())
    return root


def grade_quietly(submission: Path, exercises=()):
    return grade(exercises, submission, FAST_LIMITS)


MUTANT_FILES = sorted(MUTANTS.glob("*/*.py"))


def exercise_functions(exercise: str) -> list[str]:
    tree = ast.parse((CHECKOUT_ROOT / "course" / "exercises" / f"{exercise}.py").read_text())
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]


def function_of(test) -> str:
    """The exercise function a graded test checks: its name is test_<function>_<property>."""
    name = test.nodeid.split("::")[1]
    candidates = [f for f in exercise_functions(test.exercise) if name.startswith(f"test_{f}_")]
    assert candidates, f"{name} does not name an exercise function"
    return max(candidates, key=len)


def failed_functions(run) -> set[str]:
    return {function_of(t) for t in run.tests if t.status != "passed"}


def test_every_graded_test_names_its_function_and_every_function_is_tested():
    tests = collect(exercise_test_files().values(), CHECKOUT_ROOT, Limits())
    for exercise in {t.exercise for t in tests}:
        tested = {function_of(t) for t in tests if t.exercise == exercise}
        assert tested == set(exercise_functions(exercise)), exercise


def test_instructor_copy_scores_full_marks():
    run = grade_quietly(CHECKOUT_ROOT)
    assert run.tests and all(t.status == "passed" for t in run.tests), [t.message for t in run.tests if t.message]


def test_released_copy_scores_zero_on_not_implemented(released_copy):
    run = grade_quietly(released_copy)
    assert results_json(run)["score"] == 0
    for test in run.tests:
        assert test.status == "failed"
        assert f"NotImplementedError: {test.exercise.split('_')[0]}: {function_of(test)}" in test.message


def test_released_copy_has_no_solutions_or_mutants(released_copy):
    assert not (released_copy / "tests" / "exercises" / "mutants").exists()
    assert not (released_copy / "tests" / "grading").exists()
    for path in released_copy.rglob("ex*.py"):
        text = path.read_text()
        assert "# BEGIN SOLUTION" not in text and "# END SOLUTION" not in text


@pytest.fixture(scope="module")
def mutant_runs(tmp_path_factory):
    """Grade runs of the mutants, by file; an exercise's mutants are graded together on first use,
    two at a time (each run is mostly process start-up), so `-k ex03` grades only ex03's."""
    runs = {}

    def grade_mutant(mutant):
        root = tmp_path_factory.mktemp(mutant.stem)
        return grade_quietly(make_submission(root, {mutant.parent.name: mutant}), [mutant.parent.name])

    def run_of(mutant):
        if mutant not in runs:
            siblings = [m for m in MUTANT_FILES if m.parent == mutant.parent]
            with ThreadPoolExecutor(max_workers=2) as pool:
                runs.update(zip(siblings, pool.map(grade_mutant, siblings)))
        return runs[mutant]

    return run_of


@pytest.mark.parametrize("mutant", MUTANT_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_mutant_loses_points_on_its_function(mutant, mutant_runs):
    broken = runpy.run_path(str(mutant), run_name="mutant_inspection").get("BROKEN", "missing")
    assert broken != "missing", f"{mutant.name} must say which function it breaks (BROKEN = ...)"
    run = mutant_runs(mutant)
    if broken is None:  # an independent correct solution
        assert failed_functions(run) == set(), [t.message for t in run.tests if t.status != "passed"]
    else:
        assert failed_functions(run) == {broken}


def test_looping_and_exiting_functions_cost_only_their_tests(tmp_path):
    submission = make_submission(tmp_path, {"ex04_convolution": HOSTILE / "loop_and_exit.py"})
    run = grade_quietly(submission, ["ex04"])
    assert failed_functions(run) == {"xcorr1d", "conv1d"}
    messages = " ".join(t.message for t in run.tests)
    assert "did not finish within 3 s" in messages and "process ended" in messages


def test_crashing_and_forging_functions_cost_only_their_tests(tmp_path):
    # Not in the working folder: `python -m course` there would find the submission's course/ first.
    submission = make_submission(tmp_path / "submission", {"ex04_convolution": HOSTILE / "crash_and_forge.py"})
    report_path = tmp_path / "report" / "results.json"
    done = subprocess.run([sys.executable, "-m", "course", "grade", "ex04", "--submission", str(submission),
                           "--call-timeout", "3", "--json", str(report_path)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert done.returncode == 1, done.stderr
    report = json.loads(report_path.read_text())
    failed = {t["name"].split("::")[1] for t in report["tests"] if t["status"] != "passed"}
    assert failed and not any(name.startswith("test_xcorr1d_") for name in failed)
    assert all(t["status"] == "passed" for t in report["tests"] if t["name"].split("::")[1].startswith("test_xcorr1d_"))
    assert 0 < report["score"] < report["max_score"] < 1000
    assert any("test process ended" in t["output"] for t in report["tests"])  # conv1d killed it once


def test_module_exiting_on_import_gets_a_valid_report(tmp_path):
    run = grade_quietly(make_submission(tmp_path, {"ex04_convolution": HOSTILE / "exits_on_import.py"}), ["ex04"])
    assert run.tests and all(t.status == "failed" for t in run.tests)
    assert "process ended" in run.tests[0].message


def test_overrunning_test_is_stopped_by_the_parent_and_the_rest_still_run(tmp_path):
    submission = make_submission(tmp_path, {"ex04_convolution": HOSTILE / "loop_and_exit.py"})
    tests = collect([exercise_test_files()["ex04_convolution"]], submission, Limits())
    first_xcorr = next(t for t in tests if function_of(t) == "xcorr1d")
    first_conv2d = next(t for t in tests if function_of(t) == "conv2d")
    # per_test_s leaves room for a restarted test process on a loaded machine; the loop never ends anyway.
    run = run_tests([first_xcorr, first_conv2d], submission, Limits(per_test_s=8, total_s=120, call_s=60))
    assert [t.status for t in run.tests] == ["timeout", "passed"]


def test_whole_run_limit_marks_unfinished_tests(tmp_path):
    submission = make_submission(tmp_path, {"ex04_convolution": HOSTILE / "loop_and_exit.py"})
    tests = collect([exercise_test_files()["ex04_convolution"]], submission, Limits())
    run = run_tests(tests[:3], submission, Limits(per_test_s=60, total_s=4, call_s=60))
    unfinished = [t for t in run.tests if t.status == "not run"]
    assert unfinished and all("did not finish" in t.message for t in unfinished)
    assert results_json(run)["score"] <= sum(t.points for t in run.tests if t.status == "passed")
