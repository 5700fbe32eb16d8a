"""The grader's report: Gradescope's results.json, and a table for the terminal."""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

STATUS_MARK = {"passed": "ok", "failed": "FAIL", "timeout": "TIME", "crashed": "CRASH", "not run": "----"}


def results_json(run) -> dict:
    """Gradescope's format: score, max_score, execution_time, tests[name, score, max_score, status, output]."""
    tests = [
        {
            "name": t.name,
            "score": t.score,
            "max_score": t.points,
            "status": "passed" if t.status == "passed" else "failed",
            "output": t.message if t.status != "not run" else (t.message or "did not run"),
        }
        for t in run.tests
    ]
    return {
        "score": sum(t.score for t in run.tests),
        "max_score": sum(t.points for t in run.tests),
        "execution_time": round(run.seconds, 2),
        "tests": tests,
    }


def write_results(run, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results_json(run), indent=2) + "\n")


def terminal_table(run) -> str:
    """One line per exercise with its score, then the failed tests with the first line of why."""
    by_exercise = defaultdict(list)
    for test in run.tests:
        by_exercise[test.exercise].append(test)
    width = max([len("exercise"), *map(len, by_exercise)]) + 2
    lines = [f"{'exercise':<{width}}{'score':>12}{'passed':>10}"]
    for exercise, tests in by_exercise.items():
        score, total = sum(t.score for t in tests), sum(t.points for t in tests)
        passed = sum(t.status == "passed" for t in tests)
        lines.append(f"{exercise:<{width}}{score:>6g} / {total:<4g}{passed:>5} / {len(tests)}")
    failed = [t for t in run.tests if t.status != "passed"]
    if failed:
        lines.append("")
        lines.append("not passed:")
        for test in failed:
            first = (test.message.strip().splitlines() or ["(no message)"])[0][:110]
            lines.append(f"  [{STATUS_MARK[test.status]:>5}] {test.name}  ({test.points:g} pt)")
            lines.append(f"          {first}")
    total = sum(t.points for t in run.tests)
    lines.append("")
    lines.append(f"total: {sum(t.score for t in run.tests):g} / {total:g} points in {run.seconds:.1f} s")
    return "\n".join(lines)
