"""`python -m course`: the syllabus listing, and one clear line with exit status 2 for bad input."""
import json
import subprocess
import sys

import pytest

from course.__main__ import main
from course.runtime.syllabus import LessonNotFound, SYLLABUS, find_lesson


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "course", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize("args, says", [
    (["run", "99"], "unknown lesson '99'; valid: 01 (folding_space), 02"),
    (["grade", "ex99"], "unknown exercise 'ex99'; valid: ex01, ex02"),
    (["grade", "--submission", "/no/such/folder"], "does not exist"),
    (["frobnicate"], "invalid choice"),
    (["run"], "the following arguments are required: lesson"),
])
def test_bad_input_gives_one_line_and_exit_status_2(args, says, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_upload_without_exercise_files_scores_zero_with_the_reason(tmp_path):
    """Not a usage error: a student's upload with no exNN_*.py still gets a report (exit 1, score 0)."""
    report = tmp_path / "results.json"
    assert main(["grade", "ex04", "--submission", str(tmp_path), "--json", str(report)]) == 1
    results = json.loads(report.read_text())
    assert results["score"] == 0 and "the upload has no exercise file" in results["output"]


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["run", "04", "--fast", "--out", str(blocker / "sub")]) == 2
    assert "cannot write to --out" in capsys.readouterr().err


def test_list_shows_all_ten_lessons_and_the_exercises_with_points():
    done = run_cli("list")
    assert done.returncode == 0, done.stderr
    for entry in SYLLABUS:
        assert f"{entry.number:02d}  " in done.stdout
    assert "ex04_convolution" in done.stdout and "points in" in done.stdout


@pytest.mark.parametrize("key", ["4", "04", "convolution", "04_convolution", "04_convolution.py"])
def test_a_lesson_is_found_by_number_slug_or_file(key):
    assert find_lesson(key).stem == "04_convolution"


def test_a_lesson_in_the_syllabus_whose_file_is_missing_says_so(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("course.runtime.syllabus.LESSONS_DIR", tmp_path)
    assert main(["run", "10"]) == 2
    assert "10_weight_banding is in the syllabus but not written yet" in capsys.readouterr().err


def test_an_unknown_lesson_names_the_valid_ones():
    with pytest.raises(LessonNotFound, match="valid: 01"):
        find_lesson("nope")


def test_grade_exit_status_is_0_when_all_pass(tmp_path):
    report = tmp_path / "results.json"
    done = run_cli("grade", "ex04", "--json", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    assert report.exists() and "total:" in done.stdout


@pytest.mark.parametrize("lesson", SYLLABUS, ids=lambda lesson: lesson.stem)
def test_a_lesson_run_before_the_course_is_installed_says_how_to_install(lesson, tmp_path):
    # python -S: no site-packages, so neither the course nor torch can be imported, as before
    # `pip install -r requirements.txt && pip install -e .`
    result = subprocess.run([sys.executable, "-S", str(lesson.path)], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "No module named 'course': install the course first, from its folder: "
        "pip install -r requirements.txt && pip install -e ."]
