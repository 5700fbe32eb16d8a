"""`python -m course`: list | run | notebook | present | gallery | grade | release | autograder | doctor | train.

Every mistake in the command line (an unknown lesson or exercise, a missing submission
folder, an unwritable --out) prints one line saying what is wrong and what is valid,
and exits with status 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake in the command line: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m course", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("list", help="the syllabus and the exercises with their points")
    run = commands.add_parser("run", help="run a lesson: a number, a slug, or 'all'")
    run.add_argument("lesson")
    run.add_argument("--fast", action="store_true", help="small sizes: each lesson in at most 15 s")
    run.add_argument("--out", type=Path, help="output folder (default figures/<lesson>/)")
    run.add_argument("--show", action="store_true", help="step through the sections, figures in a window (as `present`)")
    run.add_argument("--seed", type=int, default=0)
    notebook = commands.add_parser("notebook", help="write a lesson (or 'all') as a Jupyter notebook (.ipynb)")
    notebook.add_argument("lesson")
    notebook.add_argument("--out", type=Path, default=Path("notebooks"), help="folder for the .ipynb (default notebooks/)")
    present = commands.add_parser("present", help="lecture mode: step through a lesson one section at a time")
    present.add_argument("lesson")
    present.add_argument("--fast", action="store_true", help="small sizes: seconds instead of minutes")
    present.add_argument("--out", type=Path, help="output folder (default figures/<lesson>/)")
    present.add_argument("--seed", type=int, default=0)
    gallery = commands.add_parser("gallery", help="web pages of every lesson: figures, numbers, claims (figures/index.html)")
    gallery.add_argument("--out", type=Path, default=Path("figures"), help="folder of the lessons' outputs and the pages")
    gallery.add_argument("--fast", action="store_true", help="run lessons in fast mode (and reuse fast-mode summaries)")
    gallery.add_argument("--rerun", action="store_true", help="run every lesson, even where a fresh summary.json exists")
    grade = commands.add_parser("grade", help="grade exercises; exit 0 all passed, 1 some failed, 2 grader error")
    grade.add_argument("exercises", nargs="*", help="e.g. ex04 (default: all)")
    grade.add_argument("--submission", type=Path,
                       help="the upload: a student copy, or a folder with exNN_*.py files anywhere (default: this checkout)")
    grade.add_argument("--json", type=Path, help="write Gradescope's results.json here (on every path, errors included)")
    grade.add_argument("--verbose", action="store_true", help="every failed test in full, not each kind of failure once")
    grade.add_argument("--test-timeout", type=float, default=60.0, help="CPU seconds per test (default 60)")
    grade.add_argument("--call-timeout", type=float, default=20.0, help="CPU seconds per call of a student function (default 20)")
    grade.add_argument("--timeout", type=float, default=900.0, help="wall-clock seconds for the whole run (default 900)")
    grade.add_argument("--memory", type=float, default=4.0, help="GiB of address space per sandbox process (default 4)")
    grade.add_argument("--max-processes", type=int, default=32, help="processes and threads per sandbox (default 32)")
    grade.add_argument("--max-file-size", type=float, default=64.0, help="MiB, the largest file a sandbox may write (default 64)")
    grade.add_argument("--max-open-files", type=int, default=256, help="open files per sandbox process (default 256)")
    release = commands.add_parser("release", help="write the student copy (solutions removed)")
    release.add_argument("--out", type=Path, required=True)
    release.add_argument("--force", action="store_true", help="replace a non-empty --out")
    bundle = commands.add_parser("autograder", help="write a Gradescope autograder (autograder.zip and its folder), no solutions in it")
    bundle.add_argument("--out", type=Path, required=True, help="folder for autograder/ and autograder.zip")
    bundle.add_argument("--force", action="store_true", help="replace an autograder/ or autograder.zip already in --out")
    doctor = commands.add_parser("doctor", help="versions, compilers, CUDA, and a Triton canary kernel")
    doctor.add_argument("--build", action="store_true",
                        help="also build the C++ extension now if it is not built (about a minute, once)")
    train = commands.add_parser("train", help="retrain a shipped model from scratch and compare with its checkpoint")
    train.add_argument("model", nargs="?", help="a shipped model's name, a family such as 'banding' (every model named banding_*), or 'all' (see --list)")
    train.add_argument("--list", action="store_true", help="show the shipped models and their metrics")
    train.add_argument("--out", type=Path, help="also save the retrained checkpoint(s) in this folder")
    return parser


def resolve_lessons(key: str) -> list:
    """The lessons a command names: one (by number, slug, file or exercise name), or 'all'."""
    from course.runtime.syllabus import SYLLABUS, LessonNotFound, find_lesson

    if key == "all":
        return [e for e in SYLLABUS if e.present]
    try:
        return [find_lesson(key)]
    except LessonNotFound as error:
        raise UsageError(str(error)) from None


def command_list(args) -> int:
    from course import CHECKOUT_ROOT
    from course.grading.grade import GraderError, Limits, collect, exercise_test_files
    from course.runtime.syllabus import SYLLABUS

    print("Lessons")
    for entry in SYLLABUS:
        state = "ready" if entry.present else "not yet written"
        print(f"  {entry.number:02d}  {entry.title:<58} {state}")
    print("\nExercises")
    files = exercise_test_files()
    try:
        tests = collect(files.values(), CHECKOUT_ROOT, Limits()) if files else []
    except GraderError as error:
        print(f"  (could not collect the graded tests: {str(error).splitlines()[0]})")
        tests = []
    for exercise in files:
        mine = [t for t in tests if t.exercise == exercise]
        print(f"  {exercise:<30} {sum(t.points for t in mine):>4g} points in {len(mine)} tests")
    if not files:
        print("  none yet")
    return 0


def command_run(args) -> int:
    from course.runtime.lesson import OutputFolderError, run_lesson, run_total

    entries = resolve_lessons(args.lesson)
    failed, summaries = [], []
    for entry in entries:
        out = args.out / entry.stem if args.out is not None and args.lesson == "all" else args.out
        try:
            summary = run_lesson(entry, fast=args.fast, out=out, seed=args.seed, show=args.show)
        except OutputFolderError as error:
            raise UsageError(str(error)) from None
        summaries.append(summary)
        failed += [f"{entry.stem}: {k} = {c['value']} (expected {c['limit']})"
                   for k, c in summary.get("checks", {}).items() if not c["ok"]]
    if args.lesson == "all":
        print(run_total(summaries))
    if failed:
        print("checks that did not hold:\n  " + "\n  ".join(failed), file=sys.stderr)
        return 1
    return 0


def command_notebook(args) -> int:
    from course.runtime.lesson import OutputFolderError, prepare_output_folder
    from course.runtime.notebook import NotebookToolsMissing, write_notebook

    entries = resolve_lessons(args.lesson)
    try:
        prepare_output_folder(args.out)
        for entry in entries:
            print(f"wrote {write_notebook(entry.path, args.out)}")
    except (OutputFolderError, NotebookToolsMissing) as error:
        raise UsageError(str(error)) from None
    return 0


def command_present(args) -> int:
    from course.runtime.lesson import OutputFolderError, default_output, run_lesson
    from course.runtime.present import Presenter, PresenterQuit

    entries = resolve_lessons(args.lesson)
    if len(entries) != 1:
        raise UsageError("present takes one lesson (a number, a slug or a file), not 'all'")
    presenter = Presenter()
    if not presenter.window:
        out = args.out or default_output(entries[0].stem)[0]
        print(f"{presenter.why_no_window}: stepping through the sections here; the figures are saved in {out}/")
    try:
        run_lesson(entries[0], fast=args.fast, out=args.out, seed=args.seed, viewer=presenter)
    except OutputFolderError as error:
        raise UsageError(str(error)) from None
    except PresenterQuit:
        print("stopped: the figures so far are saved")
    finally:
        presenter.close()
    return 0


def command_gallery(args) -> int:
    import json

    from course.runtime.gallery import LessonPage, summary_is_fresh, write_gallery
    from course.runtime.lesson import OutputFolderError, prepare_output_folder, run_lesson

    try:
        prepare_output_folder(args.out)
    except OutputFolderError as error:
        raise UsageError(str(error)) from None
    pages = []
    for entry in resolve_lessons("all"):
        folder = args.out / entry.stem
        if not args.rerun and summary_is_fresh(entry, folder, args.fast):
            print(f"gallery: {entry.stem}: reusing {folder}/summary.json")
            summary = json.loads((folder / "summary.json").read_text())
        else:
            summary = run_lesson(entry, fast=args.fast, out=folder)
        pages.append(LessonPage(entry, summary, folder))
    written = write_gallery(pages, args.out)
    failed = sum(not c["ok"] for page in pages for c in page.summary.get("checks", {}).values())
    figures = sum(len(page.summary.get("figures", [])) for page in pages)
    print(f"gallery: {written[0]} and {len(written) - 1} lesson pages ({figures} figures)"
          + (f"; {failed} checks did not hold" if failed else ""))
    return 1 if failed else 0


def command_grade(args) -> int:
    """Grade, print the table, and write results.json on every path: a missing exercise, a bad
    upload, a grader error or an interruption still give a report (score 0 and the reason)."""
    from tqdm import tqdm

    from course.grading.grade import GradeRun, GraderError, Limits, grade
    from course.grading.isolation import TIER_WORDS, isolation_tier, private_python_folder
    from course.grading.report import ReportError, check_target, terminal_table, write_results
    from course.runtime.syllabus import exercise_key

    limits = Limits(per_test_s=args.test_timeout, total_s=args.timeout, call_s=args.call_timeout, memory_gib=args.memory,
                    processes=args.max_processes, file_mib=args.max_file_size, open_files=args.max_open_files)
    if args.json:
        try:
            check_target(args.json)  # before grading: a planted link, folder or FIFO is refused at once
        except ReportError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    tier = isolation_tier()
    if tier != "namespaces":
        print(TIER_WORDS[tier], file=sys.stderr)
    if tier == "uid" and private_python_folder():
        print(f"warning: {private_python_folder()} is closed to other users, so student code cannot import torch "
              "without namespaces: open the Python installation's folders (chmod o+rx)", file=sys.stderr)
    bar = tqdm(desc="grading", unit="test", disable=None, leave=False)
    usage_error = None
    try:
        run = grade([exercise_key(name) for name in args.exercises], args.submission, limits,
                    lambda test: bar.update(1))  # ex4, 4 and convolution all mean ex04
        status = 0 if run.tests and all(t.status == "passed" for t in run.tests) and not run.error else 1
    except ValueError as error:
        usage_error, status = str(error), USAGE_ERROR
        run = GradeRun(error=f"the grader was called wrongly: {error}", isolation=TIER_WORDS[tier])
    except Exception as error:  # GraderError, or a bug of the grader's: the report still arrives
        if not isinstance(error, GraderError):
            import traceback

            traceback.print_exc()
        print(f"grader error: {error}", file=sys.stderr)
        run, status = GradeRun(error=f"the grader itself failed: {error}", isolation=TIER_WORDS[tier]), 2
    finally:
        bar.close()
    if usage_error is None:
        print(terminal_table(run, verbose=args.verbose))
    if args.json:
        try:
            write_results(run, args.json)
            print(f"report written to {args.json}")
        except OSError as error:  # report.ReportError included: a link, folder or FIFO planted at the target
            print(f"error: report not written: {error}", file=sys.stderr)
            status = 2
    if usage_error is not None:
        raise UsageError(usage_error)
    return status


def command_autograder(args) -> int:
    from course.grading.autograder import autograder
    from course.grading.release import ReleaseError

    try:
        folder, archive = autograder(args.out, force=args.force)
    except ValueError as error:
        raise UsageError(str(error)) from None
    except (ReleaseError, OSError) as error:
        print(f"autograder failed: {error}", file=sys.stderr)
        return 2
    print(f"Gradescope autograder written to {archive} (the same files in {folder}/); it holds no solution")
    return 0


def command_release(args) -> int:
    from course.grading.release import ReleaseError, release

    try:
        stripped = release(args.out, force=args.force)
    except ValueError as error:
        raise UsageError(str(error)) from None
    except (ReleaseError, OSError) as error:
        print(f"release failed: {error}", file=sys.stderr)
        return 2
    names = ", ".join(p.stem for p in stripped) or "none"
    print(f"student copy written to {args.out} (solutions removed from: {names})")
    return 0


def command_doctor(args) -> int:
    from course.runtime.doctor import doctor

    return doctor(build=args.build)


def command_train(args) -> int:
    from course.models.train_command import train_command

    try:
        return train_command(args.model, list_models=args.list, out=args.out)
    except ValueError as error:
        raise UsageError(str(error)) from None


COMMANDS = {"list": command_list, "run": command_run, "notebook": command_notebook, "present": command_present,
            "gallery": command_gallery, "grade": command_grade,
            "release": command_release, "autograder": command_autograder, "doctor": command_doctor, "train": command_train}


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
