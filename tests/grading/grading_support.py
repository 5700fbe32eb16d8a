"""Helpers of the grader's meta-tests: uploads made as students make them, and the sandbox's processes."""
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course import CHECKOUT_ROOT
from course.grading.grade import Limits
from course.grading.isolation import UID_POOL, process_table

MUTANTS = CHECKOUT_ROOT / "tests" / "exercises" / "mutants"
HOSTILE = Path(__file__).parent / "hostile"
EXERCISES = CHECKOUT_ROOT / "course" / "exercises"
MUTANT_FILES = sorted(MUTANTS.glob("*/*.py"))
# Short limits keep the hostile cases quick; correct code needs far less CPU time than this.
FAST_LIMITS = Limits(per_test_s=30, total_s=900, call_s=3, call_wall_s=60)
IS_ROOT = os.geteuid() == 0
root_only = pytest.mark.skipif(not IS_ROOT, reason="the sandbox's separate uid and namespaces need root (CI runs as root)")
IMPORT_SOLUTION = re.compile(r"^from course\.exercises\.(ex\d\d_\w+) import (.+?)\s*(#.*)?$", re.M)


def self_contained(path: Path) -> str:
    """A mutant or hostile module as a student would upload it: one file, with no import of the solutions.

    Mutants are written as "the solution, except one function": `from course.exercises.exNN import *`.
    The sandbox cannot import the solutions (that is the point), so the uploaded file carries the
    solution's source, writes it into its scratch folder and imports it from there as a module of
    its own (so the solution's functions keep calling each other, not the mutant's); each such
    import line becomes assignments from that module.
    """
    text = path.read_text().replace("from __future__ import annotations\n", "")
    exercises = set(m[1] for m in IMPORT_SOLUTION.finditer(text))
    if not exercises:
        return text
    (exercise,) = exercises

    def assignments(match):
        if match[2].strip() == "*":
            return "globals().update({k: v for k, v in vars(_solution).items() if not k.startswith('_')})"
        names = [n.strip() for n in match[2].strip("()").split(",") if n.strip()]
        pairs = [n.split(" as ") if " as " in n else (n, n) for n in names]
        return "\n".join(f"{alias.strip()} = _solution.{name.strip()}" for name, alias in pairs)

    solution = (EXERCISES / f"{exercise}.py").read_text()
    loader = (f"import importlib.util as _util, os as _os\n"
              f"_path = _os.path.join(_os.getcwd(), '_solution_{exercise}.py')\n"
              f"with open(_path, 'w') as _file:\n    _file.write({solution!r})\n"
              f"_spec = _util.spec_from_file_location('_solution_{exercise}', _path)\n"
              f"_solution = _util.module_from_spec(_spec)\n_spec.loader.exec_module(_solution)\n")
    return f"{loader}\n# ---- {path.name} ----\n{IMPORT_SOLUTION.sub(assignments, text)}"


def upload_of(root: Path, files: dict[str, str]) -> Path:
    """An upload folder holding `files` ({relative path: text}), as dragged into Gradescope."""
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


def sandbox_processes() -> set[int]:
    """Live processes of the sandbox uid pool. Tests compare before and after: on a shared machine another
    test session may have sandboxes of its own (a test process keeps one worker per exercise it graded)."""
    return {p.pid for p in process_table() if p.uid in UID_POOL and p.state not in "ZX"}


def mutant_label(mutant: Path) -> str:
    return f"mutant-{mutant.parent.name}-{mutant.stem}"


# --------------------------------------------------------------------------------------
# The hostile upload of hostile/attacks.py, graded through the command line
# --------------------------------------------------------------------------------------
MARKER = "HOSTILE-SUBMISSION-WAS-HERE"
SKIPPED = {".git", ".venv", "__pycache__", ".pytest_cache", "figures", "build"}


def tree_signature(root: Path) -> dict:
    """Every file of the grader's checkout with its size, modification time and inode (a write shows)."""
    signature = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED and not d.endswith(".egg-info")]
        for name in files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            signature[path] = (info.st_size, info.st_mtime_ns, info.st_ino)
    return signature


class HostileRun:
    """`python -m course grade` on hostile/attacks.py, started now (it runs beside the batch) and awaited later."""

    def __init__(self, folder: Path):
        upload, self.report = folder / "upload", folder / "results" / "results.json"
        source = (HOSTILE / "attacks.py").read_text()
        for placeholder, value in (("@CHECKOUT@", CHECKOUT_ROOT), ("@UPLOAD@", upload), ("@REPORT@", self.report)):
            source = source.replace(placeholder, str(value))
        upload_of(upload, {"ex04_convolution.py": source, "notes/secret.txt": "the student's private notes"})
        self.before = tree_signature(CHECKOUT_ROOT)
        self.processes_before = sandbox_processes()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "course", "grade", "ex04", "--submission", str(upload), "--json", str(self.report),
             "--call-timeout", "4", "--memory", "2"], cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.result = None

    def wait(self):
        if self.result is None:
            stdout, stderr = self.process.communicate(timeout=900)
            done = subprocess.CompletedProcess(self.process.args, self.process.returncode, stdout, stderr)
            written = self.report.read_text()
            time.sleep(1.0)  # a daemon left behind would rewrite the report by now
            self.result = (done, written, self.report, self.before, self.processes_before)
        return self.result
