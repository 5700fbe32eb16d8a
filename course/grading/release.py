"""The student copy: this checkout with no working answer to any graded function left in it.

Solutions are marked where they live, in the exercises and in the library code that computes
the same things (the lessons' `unfold2d`, the torch backend's filter expansion, ...): a block runs
from a line `# BEGIN SOLUTION` to a line `# END SOLUTION`, and in library code it is followed by
lines `# RELEASE: <code>`, the student copy's replacement (argument checks stay outside the block,
in both copies). See `course/chapters/convolution.py` for examples.

In an exercise module (`course/exercises/exNN_*.py`) each block becomes
`raise NotImplementedError("exNN: <function>")` at the marker's indentation. Anywhere else the
block becomes its RELEASE lines, uncommented (the text after `# RELEASE: ` keeps its own extra
indentation), so the lessons still run in the student copy: on torch's own operator, or on the
student's exercise function once it is written (`course/runtime/yours.py`). A block in library
code must have RELEASE lines, except at module level, where a helper only the solution used
simply disappears, and an empty block's RELEASE lines add a helper only the student copy uses.

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
        elif match and exercise is not None:
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
MIN_NODES = 12  # a block smaller than this is the docstring's own sentence (see known_answers)
LOCAL_NAME = re.compile(r"(Name\(id|arg\(arg)='[^']*'")

# Copies of a solution that may stay, each with its reason: (file in the copy, the function the block is in).
RESTATED_SPECS = {
    ("kernels/arguments.py", "conv_output_size"):
        "every kernel checks its arguments with the output-size formula that ex04's docstring states "
        "(kernels.arguments.conv_output_size is forbidden while ex04 is graded)",
}


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
    """The statements' AST with local names replaced by their order of first use, hashed."""
    tree = _Canonical().visit(ast.Module(body=copy.deepcopy(list(statements)), type_ignores=[]))
    return hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()[:16]


def shape(statement) -> str:
    """A cheap first filter: the statement's AST with every local name blanked."""
    return LOCAL_NAME.sub(r"\1=''", ast.dump(statement, annotate_fields=True))


def node_count(statements) -> int:
    return sum(1 for s in statements for _ in ast.walk(s))


def statement_lists(tree):
    """Every list of statements in a module (bodies of functions, loops, branches, ...), docstrings left out."""
    for node in ast.walk(tree):
        lists = [getattr(node, name, None) for name in ("body", "orelse", "finalbody")]
        lists += [handler.body for handler in getattr(node, "handlers", [])]
        for statements in lists:
            if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
                yield [s for s in statements if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                                                     and isinstance(s.value.value, str))]


@dataclass(frozen=True)
class Answer:
    where: str       # file:line of the solution block
    function: str    # "ex04_convolution.conv2d" (module stem and the function holding the block)
    fingerprint: str


def known_answers(root: Path = CHECKOUT_ROOT) -> dict[tuple, list[Answer]]:
    """{shapes of the block's statements: [Answer]} for every solution block of the instructor's tree.

    A block of fewer than MIN_NODES AST nodes (`return u[index]`, `return f.amax(dim=2)`) is its
    docstring's own sentence and is left out: its fingerprint would only find that sentence again.
    Nested parts of a block are not fingerprinted either (one flip, one padding line): a copy of
    the whole block is what answers the exercise.
    """
    answers = {}
    for path in marked_files(root):
        tree = ast.parse(path.read_text(), filename=str(path))
        relative = path.relative_to(root)
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for begin, end, indent in _blocks(path):
            holder = max((f for f in functions if f.lineno < begin <= f.end_lineno), key=lambda f: f.lineno, default=None)
            name = f"{path.stem}.{holder.name if holder else '<module>'}"
            for statements in statement_lists(tree):
                inside = [s for s in statements if begin < s.lineno and s.end_lineno < end and s.col_offset == indent]
                if inside and node_count(inside) >= MIN_NODES:
                    key = tuple(shape(s) for s in inside)
                    answers.setdefault(key, []).append(Answer(f"{relative}:{begin}", name, fingerprint(inside)))
    return answers


def _blocks(path: Path):
    """(BEGIN line, END line, indentation) of every solution block."""
    begin = None
    for number, line in enumerate(_lines(path), start=1):
        if line.strip() == BEGIN:
            begin, indent = number, len(line) - len(line.lstrip())
        elif line.strip() == END and begin is not None:
            yield begin, number, indent
            begin = None


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def find_known_answers(folder: Path, answers: dict[tuple, list[Answer]]) -> list[str]:
    """'file:line holds the solution of <block>' for every run of statements under folder that copies a block."""
    found, lengths = set(), {len(key) for key in answers}
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(folder).as_posix()
        try:
            tree = ast.parse(path.read_text())
        except (SyntaxError, UnicodeDecodeError, ValueError):
            found.add(f"{relative} cannot be parsed, so it cannot be checked")
            continue
        for statements in statement_lists(tree):
            shapes = [shape(s) for s in statements]
            for length in lengths:
                for start in range(len(statements) - length + 1):
                    candidates = answers.get(tuple(shapes[start:start + length]), [])
                    window = statements[start:start + length]
                    for answer in candidates:
                        restated = any((relative == file or relative.endswith("/" + file))
                                       and answer.function.rpartition(".")[2] == function
                                       for file, function in RESTATED_SPECS)
                        if not restated and fingerprint(window) == answer.fingerprint:
                            found.add(f"{relative}:{window[0].lineno} holds the solution of {answer.where} "
                                      f"({answer.function})")
    return sorted(found)


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
    try:
        stripped = _write_copy(out, root)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)  # no half-made copy that could pass for a student copy
        raise
    return stripped


def _write_copy(out: Path, root: Path) -> list[Path]:
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
    """README_STUDENT.md: course/grading/student_readme.md with the copy's own forbidden functions
    (each graded test file's FORBIDDEN list) and the library functions that run the student's code."""
    template = Path(__file__).with_name("student_readme.md").read_text()
    forbidden = []
    for path in sorted((out / "tests" / "exercises").glob("test_ex*.py")):
        names = _forbidden_list(path)
        if names:
            exercise = path.stem.removeprefix("test_")
            forbidden.append(f"- {exercise.split('_')[0]} (`course/exercises/{exercise}.py`): "
                             + ", ".join(f"`{name}`" for name in names))
    yours = [f"- your `{exercise}.{function}` in `{where}`" for exercise, function, where in _uses_of_yours(out)]
    text = template.replace("{forbidden}", "\n".join(forbidden) or "(none)").replace("{yours}", "\n".join(yours) or "(none)")
    (out / STUDENT_README).write_text(text)


def _forbidden_list(test_file: Path) -> list[str]:
    for node in ast.parse(test_file.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "FORBIDDEN" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []


def _uses_of_yours(out: Path):
    """(exercise, function, 'module.function') for every library function that imports a student's function."""
    found = set()
    for folder in ("course", "kernels"):
        for path in sorted((out / folder).rglob("*.py")):
            module = ".".join(path.relative_to(out).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef):
                    for inner in ast.walk(node):
                        if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("course.exercises."):
                            for alias in inner.names:
                                found.add((inner.module.rpartition(".")[2], alias.name, f"{module}.{node.name}"))
    return sorted(found)
