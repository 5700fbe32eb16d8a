"""The tree's layout: one home per lesson under its slug, explicit imports only, no import loop.

Read from the source (ast), not by importing, so a loop or a hidden import is found even where
Python would tolerate it at run time (an import inside a function, a module named in a string).
"""
import ast
import re
from pathlib import Path

from course import CHECKOUT_ROOT
from course.runtime.syllabus import SYLLABUS

COURSE = CHECKOUT_ROOT / "course"
SLUGS = {entry.slug for entry in SYLLABUS}
LOADS_BY_NAME = {"import_module", "__import__", "spec_from_file_location"}
MODULE_FUNCTION = re.compile(r"^course(\.\w+)+:\w+$")  # "course.models.focus_net:train_focus_net"

# Where loading by name or path is the point, and why. Everything else imports explicitly.
ALLOWED = {
    "course/runtime/doctor.py": "reports which third-party packages (torch, numpy, ...) import, by name",
    "course/runtime/syllabus.py": "runs a lesson script, which is a file in lessons/, not a module of the package",
    "course/grading/": "the sandbox loads a student's file by path and switches off forbidden functions by dotted name",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(CHECKOUT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in COURSE.rglob("*.py")}


def imported_modules(name: str, path: Path) -> set[str]:
    """The course modules `name` imports anywhere in its source (top level or inside functions)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # `from package import submodule` imports the submodule
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {module for module in found if module in MODULES}


def allowed(path: Path) -> bool:
    relative = path.relative_to(CHECKOUT_ROOT).as_posix()
    return any(relative == key or (key.endswith("/") and relative.startswith(key)) for key in ALLOWED)


def test_no_course_module_imports_through_a_string():
    hidden = []
    for name, path in MODULES.items():
        if allowed(path):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if called in LOADS_BY_NAME:
                    hidden.append(f"{name}:{node.lineno} calls {called}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_FUNCTION.match(node.value):
                hidden.append(f"{name}:{node.lineno} names {node.value!r}")
    assert not hidden, "imports hidden in strings (import explicitly, or add to ALLOWED with a reason):\n" + \
        "\n".join(hidden)


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index, low, stack, on_stack, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def test_the_cycle_finder_finds_a_planted_loop():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_among_course_modules():
    graph = {name: imported_modules(name, path) for name, path in MODULES.items()}
    assert import_cycles(graph) == []


def test_every_chapter_and_figure_module_is_named_by_a_lesson_slug():
    for folder in ("chapters", "figures"):
        names = {path.stem for path in (COURSE / folder).glob("*.py")} - {"__init__"}
        assert names <= SLUGS, f"course/{folder}/ modules that are no lesson's slug: {sorted(names - SLUGS)}"


def test_only_the_package_entry_points_sit_at_the_top_of_course():
    assert {path.name for path in COURSE.glob("*.py")} == {"__init__.py", "__main__.py"}


def test_each_lesson_takes_chapter_code_and_figures_only_from_its_own_slug():
    for entry in SYLLABUS:
        if not entry.present:
            continue
        used = imported_modules(f"lesson_{entry.stem}", entry.path)
        foreign = sorted(module for module in used if module.split(".")[1:2] in (["chapters"], ["figures"])
                         and module.split(".")[-1] != entry.slug)
        assert not foreign, f"{entry.stem} uses another lesson's code: {foreign} (shared code belongs in analysis/)"
