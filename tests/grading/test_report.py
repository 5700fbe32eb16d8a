"""The report and the upload, without running any student code: quick."""
import json
import os
import subprocess
import sys

import pytest

from course.grading.grade import GradedTest, GradeRun
from course.grading.report import ReportError, results_json, terminal_table, write_results
from course.grading.submission import SubmissionFileError, find_exercise_files, read_regular_file

EX04 = "tests/exercises/test_ex04_convolution.py"


def a_run(error=None):
    tests = [GradedTest(f"{EX04}::test_xcorr1d_matches_torch_on_edge_cases[{c}]", 1, status="passed") for c in "ab"]
    tests += [GradedTest(f"{EX04}::test_conv1d_matches_torch_on_random_cases[{s}]", 2, status="failed",
                         message="NotImplementedError: ex04: conv1d") for s in (1, 2)]
    tests += [GradedTest(f"{EX04}::test_conv2d_matches_torch_on_edge_cases[{c}]", 1, status="failed",
                         message=f"AssertionError: Tensor-likes are not close!\nMismatched elements: {c}")
              for c in "xyz"]
    return GradeRun(tests, seconds=1.5, error=error, notes=["graded upload/ex04_mine.py as ex04_convolution.py"])


def test_results_json_has_gradescope_fields():
    results = results_json(a_run())
    assert results["score"] == 2 and results["max_score"] == 9
    assert {"output", "visibility", "stdout_visibility", "execution_time"} <= set(results)
    first = results["tests"][0]
    assert first["number"] == "4.1" and first["tags"] == ["ex04_convolution", "xcorr1d"]
    assert first["visibility"] == "visible" and first["status"] == "passed"
    assert "ex04_mine.py" in results["output"]


def test_a_run_that_could_not_grade_scores_zero_with_its_reason():
    results = results_json(a_run(error="the upload has no exercise file"))
    assert results["score"] == 0 and "the upload has no exercise file" in results["output"]


def test_student_text_in_the_report_is_capped():
    run = a_run()
    run.tests[2].message = "x" * 100_000
    assert len(results_json(run)["tests"][2]["output"]) <= 4000


def test_table_rolls_up_per_function_and_collapses_identical_failures():
    table = terminal_table(a_run())
    assert "xcorr1d" in table and "2 / 2" in table
    assert "not started" in table.splitlines()[2]  # conv1d: every test hit its NotImplementedError
    assert "NotImplementedError" not in table  # a function not started needs no failure listing
    assert table.count("Tensor-likes are not close!") == 2  # the conv2d failure in full once, and its summary line
    verbose = terminal_table(a_run(), verbose=True)
    assert verbose.count("NotImplementedError: ex04: conv1d") == 2


def test_results_are_written_atomically_and_replace_a_regular_file(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old")
    write_results(a_run(), target)
    assert json.loads(target.read_text())["score"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary file left behind


@pytest.mark.parametrize("plant", ["symlink", "folder", "fifo"])
def test_a_planted_results_target_is_refused(tmp_path, plant):
    target, elsewhere = tmp_path / "results.json", tmp_path / "elsewhere.json"
    {"symlink": lambda: target.symlink_to(elsewhere), "folder": target.mkdir, "fifo": lambda: os.mkfifo(target)}[plant]()
    with pytest.raises(ReportError, match="refusing to write the report"):
        write_results(a_run(), target)
    assert not elsewhere.exists()


@pytest.mark.parametrize("plant", ["symlink", "folder", "fifo"])
def test_the_cli_refuses_a_planted_target_at_once_with_exit_2(tmp_path, plant):
    target = tmp_path / "results.json"
    {"symlink": lambda: target.symlink_to(tmp_path / "x"), "folder": target.mkdir, "fifo": lambda: os.mkfifo(target)}[plant]()
    done = subprocess.run([sys.executable, "-m", "course", "grade", "ex04", "--submission", str(tmp_path),
                           "--json", str(target)], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 2 and "refusing to write the report" in done.stderr


def test_uploads_are_found_anywhere_and_the_course_copy_wins(tmp_path):
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "ex04_mine.py").write_text("x = 1\n")
    (tmp_path / "ex01_folding_space.py").write_text("x = 1\n")
    found = find_exercise_files(tmp_path, ["ex01_folding_space", "ex04_convolution", "ex05_deep_conv_nets"])
    assert set(found.files) == {"ex01_folding_space", "ex04_convolution"}
    assert any("ex04_mine.py" in note for note in found.notes)
    (tmp_path / "course" / "exercises").mkdir(parents=True)
    (tmp_path / "course" / "exercises" / "ex01_folding_space.py").write_text("x = 2\n")
    found = find_exercise_files(tmp_path, ["ex01_folding_space"])
    assert found.files["ex01_folding_space"].parent.name == "exercises"


def test_links_fifos_and_duplicates_in_an_upload_are_refused_with_a_reason(tmp_path):
    solution = tmp_path / "elsewhere.py"
    solution.write_text("secret = 1\n")
    (tmp_path / "ex04_convolution.py").symlink_to(solution)
    os.mkfifo(tmp_path / "ex05_deep_conv_nets.py")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "ex01_x.py").write_text("")
    (tmp_path / "b" / "ex01_y.py").write_text("")
    found = find_exercise_files(tmp_path, ["ex01_folding_space", "ex04_convolution", "ex05_deep_conv_nets"])
    assert not found.files
    assert "symbolic link" in found.problems["ex04_convolution"]
    assert "not a regular file" in found.problems["ex05_deep_conv_nets"]
    assert "several files" in found.problems["ex01_folding_space"]
    with pytest.raises(SubmissionFileError):
        read_regular_file(tmp_path / "ex04_convolution.py")
