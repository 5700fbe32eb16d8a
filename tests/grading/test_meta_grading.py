"""The graded tests are themselves tested: full marks, zero, every mutant caught, hostile code contained.

Most cases read the session's `batch` (conftest.py): every upload graded in two runs of the real
grader. The few that need their own limits start their own run, on one small exercise.
"""
import json
import runpy
import signal
import subprocess
import sys
import time

import pytest

from course.grading.grade import GradedTest, Limits, _run_setup, exercise_functions, exercise_test_files, run_tests
from course.grading.report import results_json

from grading_support import EXERCISES, HOSTILE, MUTANT_FILES, mutant_label, sandbox_processes, self_contained, upload_of

pytestmark = pytest.mark.slow


def failed_functions(run) -> set[str]:
    return {t.function for t in run.tests if t.status != "passed"}


def messages(run) -> str:
    return "\n".join(t.message for t in run.tests)


def test_every_graded_test_names_its_function_and_every_function_is_tested(batch):
    tests = batch["instructor"].tests
    assert {t.exercise for t in tests} == set(exercise_test_files())
    for exercise in {t.exercise for t in tests}:
        tested = {t.function for t in tests if t.exercise == exercise}
        assert tested == set(exercise_functions(exercise)), exercise


def test_instructor_copy_scores_full_marks(batch):
    run = batch["instructor"]
    assert run.tests and all(t.status == "passed" for t in run.tests), [t.message for t in run.tests if t.message]
    assert results_json(run)["score"] == results_json(run)["max_score"] > 300


def test_released_copy_scores_zero_on_not_implemented(batch):
    run = batch["released"]
    assert len(run.tests) == len(batch["instructor"].tests)
    assert results_json(run)["score"] == 0
    for test in run.tests:
        assert test.status == "failed"
        assert f"NotImplementedError: {test.exercise.split('_')[0]}: {test.function}" in test.message


def test_released_copy_has_no_solutions_or_mutants(released_copy):
    assert not (released_copy / "tests" / "exercises" / "mutants").exists()
    assert not (released_copy / "tests" / "grading").exists()
    for path in released_copy.rglob("ex*.py"):
        text = path.read_text()
        assert "# BEGIN SOLUTION" not in text and "# END SOLUTION" not in text


@pytest.mark.parametrize("mutant", MUTANT_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_mutant_loses_points_on_its_function(mutant, batch):
    broken = runpy.run_path(str(mutant), run_name="mutant_inspection").get("BROKEN", "missing")
    assert broken != "missing", f"{mutant.name} must say which function it breaks (BROKEN = ...)"
    run = batch[mutant_label(mutant)]
    assert run.tests, run.output
    if broken is None:  # an independent correct solution: every test passes
        assert failed_functions(run) == set(), [t.message for t in run.tests if t.status != "passed"]
    else:  # graded on its broken function only (its other functions are the solution's own)
        assert {t.function for t in run.tests} == {broken}
        assert any(t.status != "passed" for t in run.tests), f"{mutant.name} scores full marks on {broken}"


def test_a_dragged_in_file_anywhere_in_the_upload_is_graded(batch):
    run = batch["dragged"]
    assert run.tests and all(t.status == "passed" for t in run.tests)
    assert {t.exercise for t in run.tests} == {"ex04_convolution"}


def test_an_upload_without_exercise_files_scores_zero_with_the_reason(batch):
    results = results_json(batch["empty"])
    assert results["score"] == 0 and "the upload has no exercise file" in results["output"]


def test_looping_and_exiting_functions_cost_only_their_tests(batch):
    run = batch["hostile-loop_and_exit"]
    assert failed_functions(run) == {"xcorr1d", "conv1d"}
    assert "used more than 3 s of CPU time" in messages(run) and "sys.exit/os._exit" in messages(run)


def test_crashing_and_forging_functions_cost_only_their_tests(batch):
    run = batch["hostile-crash_and_forge"]
    assert failed_functions(run) == {"conv2d", "conv_output_size", "conv1d", "im2col"}
    assert all(t.status == "passed" for t in run.tests if t.function == "xcorr1d")
    assert "killed by SIGSEGV" in messages(run)  # conv2d read address 0
    assert 0 < results_json(run)["score"] < results_json(run)["max_score"]


def test_module_exiting_on_import_gets_a_valid_report(batch):
    run = batch["hostile-exits_on_import"]
    assert run.tests and all(t.status == "failed" for t in run.tests)
    assert "process ended" in run.tests[0].message


def test_overrunning_test_is_stopped_by_the_parent_and_the_rest_still_run(tmp_path, batch):
    """The per-test limit counts CPU seconds of the test and its sandbox; here it fires before the per-call one."""
    processes_before = sandbox_processes()
    looping = (EXERCISES / "ex04_convolution.py").read_text() + "\n\ndef xcorr1d(x, w):\n    while True:\n        pass\n"
    upload = upload_of(tmp_path, {"ex04_convolution.py": looping})
    limits = Limits(per_test_s=2, total_s=600, call_s=600)
    # Two tests of ex04, by the node ids the batch saw for the instructor copy (less its upload label).
    ids = {t.function: t.nodeid.replace("[instructor-", "[").replace("[instructor]", "")
           for t in reversed(batch["instructor"].tests) if t.exercise == "ex04_convolution"}
    tests = [GradedTest(ids["xcorr1d"], 1), GradedTest(ids["conv2d"], 1)]
    with _run_setup({"upload": upload}, limits, ["ex04_convolution"]) as setup:
        run = run_tests(tests, setup, limits)
    assert [t.status for t in run.tests] == ["timeout", "passed"], [t.message for t in run.tests]
    assert "used more than 2 s of CPU time" in run.tests[0].message
    assert not sandbox_processes() - processes_before


def test_whole_run_limit_still_gives_a_report(tmp_path):
    processes_before = sandbox_processes()
    upload = upload_of(tmp_path / "upload", {"ex04_convolution.py": self_contained(HOSTILE / "loop_and_exit.py")})
    report = tmp_path / "results" / "results.json"
    done = subprocess.run([sys.executable, "-m", "course", "grade", "ex04", "--submission", str(upload),
                           "--timeout", "0.5", "--json", str(report)], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    results = json.loads(report.read_text())
    assert results["score"] == 0 and "exceeded its 0.5 s limit" in results["output"]
    assert not sandbox_processes() - processes_before


def test_an_interrupted_grader_still_writes_its_report(tmp_path):
    """SIGTERM (a platform's own time limit) mid-run: the report says so, with what had finished."""
    processes_before = sandbox_processes()
    upload = upload_of(tmp_path / "upload", {"ex04_convolution.py": (EXERCISES / "ex04_convolution.py").read_text()})
    report = tmp_path / "results.json"
    grader = subprocess.Popen([sys.executable, "-m", "course", "grade", "ex04", "--submission", str(upload),
                               "--json", str(report)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(2.0)
    grader.send_signal(signal.SIGTERM)
    grader.communicate(timeout=300)
    results = json.loads(report.read_text())
    if grader.returncode != 0:  # on a very fast machine grading may finish first: then there is nothing to check
        assert "interrupted (SIGTERM)" in results["output"]
    assert not sandbox_processes() - processes_before
