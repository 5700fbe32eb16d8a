"""The student copy: this checkout with every solution replaced by a NotImplementedError.

In `course/exercises/exNN_*.py`, each block from a line `# BEGIN SOLUTION` to a line
`# END SOLUTION` becomes `raise NotImplementedError("exNN: <function>")` at the
marker's indentation. The copy leaves out what must not reach students (the mutants,
the grader's meta-tests, CI) and is checked afterwards: no marker, no mutant, and every
stripped module still compiles.
"""
from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

from course import CHECKOUT_ROOT

COPIED = ["course", "kernels", "lessons", "tests", "README.md", "setup.py", "requirements.txt", "pytest.ini", ".gitignore"]
LEFT_OUT = ["tests/exercises/mutants", "tests/grading"]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache", "figures", "*.so", "build")
BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
FUNCTION = re.compile(r"^(\s*)def\s+(\w+)\s*\(")


class ReleaseError(Exception):
    """The checkout cannot be released as it is (unbalanced markers, solutions left over)."""


def strip_solutions(source: str, exercise: str, filename: str = "<exercise>") -> str:
    """Replace each solution block with a NotImplementedError naming its function."""
    out, inside, function = [], False, None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        stripped = line.strip()
        if match := FUNCTION.match(line):
            if inside:
                raise ReleaseError(f"{filename}:{number}: a def inside an open solution block")
            function = match[2]
        if stripped == BEGIN:
            if inside:
                raise ReleaseError(f"{filename}:{number}: {BEGIN} inside another solution block")
            if function is None:
                raise ReleaseError(f"{filename}:{number}: a solution block outside any function")
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f'{indent}raise NotImplementedError("{exercise}: {function}")\n')
            inside = True
        elif stripped == END:
            if not inside:
                raise ReleaseError(f"{filename}:{number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ReleaseError(f"{filename}: {BEGIN} never closed")
    return "".join(out)


def release(out: Path, root: Path = CHECKOUT_ROOT, force: bool = False) -> list[Path]:
    """Write the student copy of `root` into `out`; return the exercise files it stripped."""
    out = Path(out).resolve()
    if out == root.resolve() or root.resolve() in out.parents:
        raise ValueError(f"--out {out} is inside the checkout; choose a folder outside it")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ValueError(f"--out {out} is not empty; choose an empty folder or pass --force")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, out / name, ignore=IGNORED)
        elif source.is_file():
            shutil.copy2(source, out / name)
    for name in LEFT_OUT:
        shutil.rmtree(out / name, ignore_errors=True)
    stripped = []
    for path in sorted((out / "course" / "exercises").glob("ex*.py")):
        exercise = path.stem.split("_")[0]
        source = strip_solutions(path.read_text(), exercise, str(path.relative_to(out)))
        ast.parse(source, filename=str(path))
        path.write_text(source)
        stripped.append(path)
    check_release(out)
    return stripped


def check_release(out: Path) -> None:
    """Refuse a copy that still holds a solution marker or a mutant."""
    for path in out.rglob("*"):
        if path.is_dir() and path.name == "mutants":
            raise ReleaseError(f"the student copy contains mutants: {path}")
        if path.suffix == ".py" and any(line.strip() == BEGIN for line in path.read_text(errors="replace").splitlines()):
            raise ReleaseError(f"the student copy still contains a solution: {path}")
