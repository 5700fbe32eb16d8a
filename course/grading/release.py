"""The student copy: this checkout with no working answer to any graded function left in it.

Solutions are marked where they live, in the exercises and in the library code that computes
the same things (the lessons' `unfold2d`, the torch backend's filter expansion, ...):

    def cross_correlate2d(x, w, ...):
        <argument checks, kept in both copies>
        # BEGIN SOLUTION
        <the instructor's code>
        # END SOLUTION
        # RELEASE: return yours_or_torch(yours, F.conv2d, x, w, ...)

In an exercise module (`course/exercises/exNN_*.py`) each block becomes
`raise NotImplementedError("exNN: <function>")` at the marker's indentation. Anywhere else the
block becomes its `# RELEASE:` lines, uncommented (the text after `# RELEASE: ` keeps its own
extra indentation), so the lessons still run in the student copy: on torch's own operator, or on
the student's exercise function once it is written. A block in library code must have RELEASE
lines, except at module level, where a helper only the solution used simply disappears.

The copy leaves out what must not reach students (the mutants, the grader's meta-tests, the
library's own tests, CI) and is then checked (`check_release`): no marker line, no mutant, and
no *known answer*: every solution block of the instructor's tree is fingerprinted (its statements
with every local name replaced by its order of first use, so renaming a variable does not hide
a copy), and no run of statements anywhere in the copy may have one of those fingerprints.
"""
from __future__ import annotations

import ast
import builtins
import copy
import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from course import CHECKOUT_ROOT

COPIED = ["course", "kernels", "lessons", "tests/exercises", "tests/conftest.py", "README.md", "setup.py",
          "requirements.txt", "pytest.ini", ".gitignore"]
LEFT_OUT = ["tests/exercises/mutants"]
MARKED = ["course", "kernels", "lessons"]  # where solution blocks may live (tests/ never holds one)
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache", "figures", "*.so", "build")
BEGIN, END, RELEASE = "# BEGIN SOLUTION", "# END SOLUTION", "# RELEASE:"
FUNCTION = re.compile(r"^(\s*)def\s+(\w+)\s*\(")
EXERCISE_FILE = re.compile(r"(ex\d\d)_\w+\.py")
STUDENT_README = "README_STUDENT.md"


class ReleaseError(Exception):
    """The checkout cannot be released as it is (unbalanced markers, solutions left over)."""


# --------------------------------------------------------------------------------------
# Stripping the blocks
# --------------------------------------------------------------------------------------
def strip_solutions(source: str, exercise: str | None, filename: str = "<exercise>") -> str:
    """The student copy of one file: solution blocks replaced (see the module docstring).

    exercise: 'ex04' for an exercise module (blocks become NotImplementedError), None for library
    code (blocks become their RELEASE lines).
    """
    out, function, inside, block_indent, after_block = [], None, False, "", False
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if after_block and stripped.startswith(RELEASE):
            if exercise is not None:
                raise ReleaseError(f"{filename}:{number}: {RELEASE} lines belong to library code, not to an exercise")
            if indent != block_indent:
                raise ReleaseError(f"{filename}:{number}: a {RELEASE} line must have its block's indentation")
            code = stripped[len(RELEASE):]
            out.append(block_indent + code.removeprefix(" ") + "\n")
            released = True
            continue
        if after_block and not released and exercise is None and block_indent:
            raise ReleaseError(f"{filename}:{number - 1}: a solution block in library code needs {RELEASE} lines "
                               "(what the student copy runs instead)")
        after_block = False
        if (match := FUNCTION.match(line)) and not inside:
            function = match[2]
        elif match:
            raise ReleaseError(f"{filename}:{number}: a def inside an open solution block")
        if stripped == BEGIN:
            if inside:
                raise ReleaseError(f"{filename}:{number}: {BEGIN} inside another solution block")
            if exercise is not None and (function is None or not indent):
                raise ReleaseError(f"{filename}:{number}: a solution block outside any function")
            inside, block_indent = True, indent
            if exercise is not None:
                out.append(f'{indent}raise NotImplementedError("{exercise}: {function}")\n')
        elif stripped == END:
            if not inside:
                raise ReleaseError(f"{filename}:{number}: {END} without {BEGIN}")
            inside, after_block, released = False, True, False
        elif stripped.startswith(RELEASE):
            raise ReleaseError(f"{filename}:{number}: a {RELEASE} line that does not follow {END}")
        elif not inside:
            out.append(line)
    if inside:
        raise ReleaseError(f"{filename}: {BEGIN} never closed")
    if after_block and not released and exercise is None and block_indent:
        raise ReleaseError(f"{filename}: the last solution block needs {RELEASE} lines")
    return "".join(out)


def marked_files(root: Path) -> list[Path]:
    """Every .py file under MARKED that holds a solution block."""
    return sorted(path for folder in MARKED for path in (root / folder).rglob("*.py")
                  if "__pycache__" not in path.parts and any(line.strip() == BEGIN for line in _lines(path)))


def exercise_of(path: Path) -> str | None:
    """'ex04' for course/exercises/ex04_*.py, None for any other file."""
    match = EXERCISE_FILE.fullmatch(path.name)
    return match[1] if match and path.parent.name == "exercises" and path.parent.parent.name == "course" else None


# --------------------------------------------------------------------------------------
# Known answers: fingerprints of the solution blocks
# --------------------------------------------------------------------------------------
KEPT_NAMES = set(dir(builtins)) | {"torch", "F", "nn", "tl", "triton", "math", "np"}
MIN_NODES = 12  # a window smaller than this (`return u[index]`) is the docstring's own sentence


class _Canonical(ast.NodeTransformer):
    """Every local name (variables, arguments) becomes v0, v1, ... in order of first use."""

    def __init__(self):
        self.names = {}

    def _name(self, name):
        if name in KEPT_NAMES:
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        return ast.copy_location(ast.Name(id=self._name(node.id), ctx=node.ctx), node)

    def visit_arg(self, node):
        return ast.copy_location(ast.arg(arg=self._name(node.arg)), node)


def fingerprint(statements) -> str:
    tree = _Canonical().visit(ast.Module(body=copy.deepcopy(list(statements)), type_ignores=[]))
    return hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()[:16]


def node_count(statements) -> int:
    return sum(1 for s in statements for _ in ast.walk(s))


def statement_lists(tree):
    """Every list of statements in a module: bodies of functions, loops, branches, with blocks, ..."""
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            value = getattr(node, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield value
        for handler in getattr(node, "handlers", []):
            yield handler.body


def windows(statements, lengths=None):
    """Every run of consecutive statements with at least MIN_NODES AST nodes (docstrings left out),
    of the given lengths only when `lengths` is given."""
    body = [s for s in statements if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                          and isinstance(s.value.value, str))]
    sizes = [node_count([s]) for s in body]
    for start in range(len(body)):
        for stop in range(start + 1, len(body) + 1):
            if (lengths is None or stop - start in lengths) and sum(sizes[start:stop]) >= MIN_NODES:
                yield body[start:stop]


@dataclass(frozen=True)
class Answer:
    where: str      # file:line of the solution block it comes from
    statements: int


def known_answers(root: Path = CHECKOUT_ROOT) -> dict[str, Answer]:
    """{fingerprint: where} for every window of every solution block of the instructor's tree."""
    answers = {}
    for path in marked_files(root):
        tree = ast.parse(path.read_text(), filename=str(path))
        relative = path.relative_to(root)
        for begin, end in _blocks(path):
            for statements in statement_lists(tree):
                inside = [s for s in statements if begin < s.lineno and s.end_lineno < end]
                if inside:
                    for window in windows(inside):
                        answers.setdefault(fingerprint(window), Answer(f"{relative}:{begin}", len(window)))
    return answers


def _blocks(path: Path):
    begin = None
    for number, line in enumerate(_lines(path), start=1):
        if line.strip() == BEGIN:
            begin = number
        elif line.strip() == END and begin is not None:
            yield begin, number
            begin = None


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def find_known_answers(folder: Path, answers: dict[str, Answer]) -> list[str]:
    """'file:line holds the answer of <solution>' for every window of a .py file under folder with a known fingerprint."""
    found, lengths = [], {answer.statements for answer in answers.values()}
    for path in sorted(folder.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text())
        except (SyntaxError, UnicodeDecodeError, ValueError):
            found.append(f"{path.relative_to(folder)} cannot be parsed, so it cannot be checked")
            continue
        for statements in statement_lists(tree):
            for window in windows(statements, lengths):
                answer = answers.get(fingerprint(window))
                if answer is not None and len(window) == answer.statements:
                    found.append(f"{path.relative_to(folder)}:{window[0].lineno} holds the solution of {answer.where}")
    return sorted(set(found))


# --------------------------------------------------------------------------------------
# The copy
# --------------------------------------------------------------------------------------
def release(out: Path, root: Path = CHECKOUT_ROOT, force: bool = False) -> list[Path]:
    """Write the student copy of `root` into `out`; return the files whose solutions it removed."""
    out = Path(out).resolve()
    if out == root.resolve() or root.resolve() in out.parents:
        raise ValueError(f"--out {out} is inside the checkout; choose a folder outside it")
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ValueError(f"--out {out} is not empty; choose an empty folder or pass --force")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source, target = root / name, out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=IGNORED)
        elif source.is_file():
            shutil.copy2(source, target)
    for name in LEFT_OUT:
        shutil.rmtree(out / name, ignore_errors=True)
    stripped = []
    for path in marked_files(out):
        relative = str(path.relative_to(out))
        source = strip_solutions(path.read_text(), exercise_of(path), relative)
        try:
            ast.parse(source, filename=relative)
        except SyntaxError as error:
            raise ReleaseError(f"{relative}: the student copy does not parse: {error}") from None
        path.write_text(source)
        stripped.append(path)
    write_student_readme(out)
    check_release(out, root)
    return stripped


def check_release(out: Path, root: Path = CHECKOUT_ROOT) -> None:
    """Refuse a copy that holds a marker line, a mutant, or a known answer (ReleaseError saying where)."""
    out = Path(out)
    for path in out.rglob("*"):
        if path.is_dir() and path.name == "mutants":
            raise ReleaseError(f"the student copy contains mutants: {path}")
        if path.is_file() and path.suffix in (".py", ".md", ".txt", ".sh", "") and not path.is_symlink():
            for number, line in enumerate(_lines(path), start=1):
                if line.strip() in (BEGIN, END) or line.strip().startswith(RELEASE):
                    raise ReleaseError(f"the student copy still contains a solution: {path}:{number}")
    leaks = find_known_answers(out, known_answers(root))
    if leaks:
        raise ReleaseError("the student copy still contains working answers:\n  " + "\n  ".join(leaks))


def write_student_readme(out: Path) -> None:
    """README_STUDENT.md, from the text kept beside this module (course/grading/student_readme.md)."""
    shutil.copyfile(Path(__file__).with_name("student_readme.md"), out / STUDENT_README)
