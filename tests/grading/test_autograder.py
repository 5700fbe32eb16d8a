"""The Gradescope bundle: Gradescope's layout, no solution anywhere in it, and it grades.

The bundle is built once for this module. The slow tests grade with it: the bundle's own
`run_autograder` with this virtualenv (paths given by environment variables instead of
Gradescope's /autograder/...), and library files pasted from the bundle as submissions.
"""
import json
import os
import stat
import subprocess
import sys
import zipfile

import pytest

from course import CHECKOUT_ROOT
from course.grading.autograder import COURSE_FOLDER, autograder
from course.grading.grade import grade_many
from course.grading.release import BEGIN, END, ReleaseError, _blocks, check_release
from grading_support import FAST_LIMITS, upload_of

EXERCISES = CHECKOUT_ROOT / "course" / "exercises"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    folder, archive = autograder(out)
    return folder, archive


def test_zip_has_setup_and_run_autograder_at_its_top_level_executable(bundle):
    folder, archive = bundle
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        modes = {info.filename: info.external_attr >> 16 for info in zipped.infolist()}
    assert "setup.sh" in names and "run_autograder" in names
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert f"{COURSE_FOLDER}/course/grading/grade.py" in names
    assert any(name.startswith(f"{COURSE_FOLDER}/tests/exercises/test_ex04") for name in names)
    assert sorted(names) == sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    for script in ("setup.sh", "run_autograder"):
        assert subprocess.run(["bash", "-n", str(folder / script)]).returncode == 0, f"{script} is not valid bash"


def test_setup_installs_the_pinned_requirements_with_an_overridable_cpu_torch_index(bundle):
    folder, _ = bundle
    setup = (folder / "setup.sh").read_text()
    assert 'TORCH_INDEX_URL-https://download.pytorch.org/whl/cpu' in setup  # unset: CPU index; set empty: pip's own
    assert "requirements.txt" in setup and "torch==" in (folder / COURSE_FOLDER / "requirements.txt").read_text()
    run = (folder / "run_autograder").read_text()
    assert "--submission \"$submission\" --json \"$results\"" in run and "/autograder/results/results.json" in run


def test_bundle_holds_no_solution(bundle):
    folder, _ = bundle
    check_release(folder)  # markers, mutants, fingerprints of every solution block
    assert not (folder / COURSE_FOLDER / "tests" / "exercises" / "mutants").exists()
    assert not (folder / COURSE_FOLDER / "tests" / "grading").exists()
    # and, independently of the fingerprints, no passage of 3 consecutive lines of a solution block
    # appears anywhere (a grep; single lines such as a loop header are common to any code)
    passages = set()
    for path in sorted(CHECKOUT_ROOT.glob("course/**/*.py")) + sorted(CHECKOUT_ROOT.glob("kernels/**/*.py")):
        lines = path.read_text().splitlines()
        for begin, end, _ in _blocks(path):
            passages |= set(windows_of_code(lines[begin:end - 1]))
    assert passages
    leaks = []
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".md", ".txt", ".sh", ""):
            lines = path.read_text(errors="replace").splitlines()
            assert not any(line.strip() in (BEGIN, END) for line in lines), path
            leaks += [f"{path.relative_to(folder)}:\n{passage}" for passage in set(windows_of_code(lines)) & passages]
    assert not leaks, "solution passages in the bundle:\n" + "\n".join(leaks)


def windows_of_code(lines, size=3):
    """Every run of `size` consecutive code lines, stripped, comments and blank lines left out."""
    code = [line.split("#")[0].strip() for line in lines]
    code = [line for line in code if line]
    return ["\n".join(code[i:i + size]) for i in range(len(code) - size + 1)]


def test_a_bundle_with_a_solution_in_it_is_refused(tmp_path, bundle):
    folder, _ = bundle
    planted = tmp_path / "planted"
    (planted / "course").mkdir(parents=True)
    (planted / "course" / "helpers.py").write_text((EXERCISES / "ex04_convolution.py").read_text())
    with pytest.raises(ReleaseError):
        check_release(planted)


def test_autograder_refuses_an_out_folder_inside_the_checkout():
    with pytest.raises(ValueError, match="inside the checkout"):
        autograder(CHECKOUT_ROOT / "build" / "bundle")


# --------------------------------------------------------------------------------------
# Grading with the bundle
# --------------------------------------------------------------------------------------

def run_autograder(folder, submission, results, *args):
    environment = {**os.environ, "AUTOGRADER_SOURCE": str(folder), "AUTOGRADER_SUBMISSION": str(submission),
                   "AUTOGRADER_RESULTS": str(results), "AUTOGRADER_PYTHON": sys.executable}
    done = subprocess.run(["bash", str(folder / "run_autograder"), *args], env=environment, capture_output=True,
                          text=True, timeout=1200)
    assert results.is_file(), f"no results.json (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done, json.loads(results.read_text())


@pytest.mark.slow
def test_run_autograder_gives_full_marks_to_a_flat_upload_of_a_correct_ex04(bundle, tmp_path):
    """The instructor's ex04 file dragged in alone, graded by the bundle's own copy of the course."""
    folder, _ = bundle
    upload = upload_of(tmp_path / "submission", {"ex04_convolution.py": (EXERCISES / "ex04_convolution.py").read_text()})
    done, report = run_autograder(folder, upload, tmp_path / "results" / "results.json", "ex04")
    assert done.returncode == 0, done.stderr[-2000:]
    assert report["tests"] and all(t["status"] == "passed" for t in report["tests"])
    assert report["score"] == report["max_score"] == sum(t["max_score"] for t in report["tests"]) > 0


@pytest.mark.slow
def test_run_autograder_gives_zero_with_a_reason_to_an_empty_upload(bundle, tmp_path):
    folder, _ = bundle
    (tmp_path / "submission").mkdir()
    done, report = run_autograder(folder, tmp_path / "submission", tmp_path / "results" / "results.json")
    assert done.returncode != 0
    assert report["score"] == 0
    assert "no exercise file" in report["output"]


# Library modules of the bundle that compute what an exercise asks for, pasted as that exercise.
PASTED = {
    "course/chapters/convolution.py": "ex04_convolution",
    "course/chapters/folding_space.py": "ex01_folding_space",
    "course/chapters/parameter_transformations.py": "ex02_parameter_transformations",
    "course/chapters/motif_detection.py": "ex03_motif_detection",
    "course/chapters/deep_conv_nets.py": "ex05_deep_conv_nets",
    "course/chapters/group_convolution.py": "ex07_group_convolution",
    "kernels/group_reference.py": "ex07_group_convolution",
    "kernels/groups.py": "ex07_group_convolution",
    "course/analysis/banding.py": "ex10_weight_banding",
}


@pytest.mark.slow
def test_library_files_pasted_from_the_bundle_score_zero(bundle, tmp_path):
    folder, _ = bundle
    uploads = {relative.replace("/", "-"): upload_of(tmp_path / relative.replace("/", "_"),
                                   {f"{exercise}.py": (folder / COURSE_FOLDER / relative).read_text()})
               for relative, exercise in PASTED.items()}
    runs = grade_many(uploads, sorted({e.split("_")[0] for e in PASTED.values()}), FAST_LIMITS)
    for relative, exercise in PASTED.items():
        run = runs[relative.replace("/", "-")]
        assert run.tests, relative
        scored = [f"{t.name}: {t.points}" for t in run.tests if t.score > 0]
        assert not scored, f"{relative} pasted as {exercise} scored:\n" + "\n".join(scored)
