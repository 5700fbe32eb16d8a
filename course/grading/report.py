"""The grader's report: Gradescope's results.json, written safely, and a table a student can act on."""
from __future__ import annotations

import json
import os
import stat
import tempfile
from collections import defaultdict
from pathlib import Path

STATUS_MARK = {"passed": "ok", "failed": "FAIL", "timeout": "TIME", "crashed": "CRASH", "not run": "----"}
OUTPUT_CHARS = 4000   # per test: what a student's code can put in the report is capped
TOP_OUTPUT_CHARS = 8000


class ReportError(OSError):
    """The report cannot be written where asked (a link, a folder, a FIFO...)."""


def _capped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 40] + f"\n... ({len(text) - limit + 40} characters cut)"


def results_json(run) -> dict:
    """Gradescope's format: score, max_score, execution_time, output, visibility, stdout_visibility,
    tests[name, number, tags, score, max_score, status, output, visibility]."""
    numbers = defaultdict(int)
    tests = []
    for t in run.tests:
        numbers[t.exercise] += 1
        tests.append({
            "name": t.name,
            "number": f"{int(t.exercise[2:4])}.{numbers[t.exercise]}",
            "tags": [t.exercise, t.function],
            "score": t.score,
            "max_score": t.points,
            "status": "passed" if t.status == "passed" else "failed",
            "output": _capped(t.message if t.status != "not run" else (t.message or "did not run"), OUTPUT_CHARS),
            "visibility": "visible",
        })
    return {
        "score": 0 if run.error else sum(t.score for t in run.tests),
        "max_score": sum(t.points for t in run.tests),
        "execution_time": round(run.seconds, 2),
        "output": _capped("\n".join(line for line in (run.output, run.isolation) if line), TOP_OUTPUT_CHARS),
        "visibility": "visible",
        "stdout_visibility": "visible",
        "tests": tests,
    }


def check_target(path: Path) -> None:
    """ReportError unless `path` is absent or a regular file: a link, folder or FIFO there is never used."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise ReportError(f"refusing to write the report to {path}: it is a symbolic link")
    if not stat.S_ISREG(info.st_mode):
        raise ReportError(f"refusing to write the report to {path}: it exists and is not a regular file")


def write_results(run, path: Path) -> None:
    """Write results.json atomically: a temporary file beside the target, then a rename over it.

    Refuses (ReportError) a target that is a symbolic link or exists and is not a regular file, so a
    link, a folder or a FIFO planted there is never followed, opened or replaced.
    """
    path = Path(path)
    check_target(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".results-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w") as file:
            json.dump(results_json(run), file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _first_line(message: str) -> str:
    return (message.strip().splitlines() or ["(no message)"])[0]


def _function_state(tests) -> str:
    failed = [t for t in tests if t.status != "passed"]
    if not failed:
        return ""
    if all("NotImplementedError" in t.message for t in failed) and len(failed) == len(tests):
        return "not started"
    kinds = {(t.status, _first_line(t.message)) for t in failed}
    what = f"{len(failed)} of {len(tests)} tests failed"
    return what + (f" ({len(kinds)} different failures)" if len(kinds) > 1 else "")


def terminal_table(run, verbose: bool = False) -> str:
    """Per exercise and per function: points and state; then each distinct failure once, in full."""
    by_function = defaultdict(list)
    for test in run.tests:
        by_function[(test.exercise, test.function)].append(test)
    exercises = list(dict.fromkeys(t.exercise for t in run.tests))
    width = max([len("function"), *(len(f) + 2 for _, f in by_function)]) + 2
    lines = []
    if run.error:
        lines += [f"Not graded: {run.error}", ""]
    for exercise in exercises:
        tests = [t for t in run.tests if t.exercise == exercise]
        lines.append(f"{exercise}: {sum(t.score for t in tests):g} / {sum(t.points for t in tests):g}")
        for (ex, function), mine in by_function.items():
            if ex == exercise:
                score = f"{sum(t.score for t in mine):g} / {sum(t.points for t in mine):g}"
                lines.append(f"  {function:<{width}}{score:>10}   {_function_state(mine)}".rstrip())
    not_started = {key for key, mine in by_function.items() if _function_state(mine) == "not started"}
    failed = [t for t in run.tests if t.status != "passed" and (verbose or (t.exercise, t.function) not in not_started)]
    if failed:
        lines += ["", "what failed (each failure once, the first in full; --verbose for every test):"
                  if not verbose else "what failed, test by test:"]
        shown = {}
        for test in failed:
            kind = (test.exercise, test.function, test.status, _first_line(test.message))
            if kind in shown and not verbose:
                shown[kind].append(test)
                continue
            shown[kind] = [test]
            lines.append(f"  [{STATUS_MARK[test.status]:>5}] {test.name}  ({test.points:g} pt)")
            message = test.message.strip() or "(no message)"
            lines += [f"          {line}" for line in message.splitlines()]
        if not verbose:
            for kind, tests in shown.items():
                if len(tests) > 1:
                    lines.append(f"  the same failure ({kind[3][:60]}) also in {len(tests) - 1} more "
                                 f"{kind[1]} test{'s' if len(tests) > 2 else ''}")
    lines += [""] + [f"note: {note}" for note in run.notes]
    total = sum(t.points for t in run.tests)
    score = 0 if run.error else sum(t.score for t in run.tests)
    lines.append(f"total: {score:g} / {total:g} points in {run.seconds:.1f} s")
    return "\n".join(lines)
