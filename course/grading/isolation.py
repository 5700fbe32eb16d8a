"""Who runs a student's code, with what limits, and what it may import: the grader's side of the sandbox.

- `SandboxLimits`: rlimits and CPU/wall limits of one sandbox worker; they travel from the grader
  to the test process in $COURSE_SANDBOX_LIMITS.
- sandbox uids: when the grader is root, every worker runs as a uid of its own, drawn from a block
  of `UID_POOL` reserved for one grading run ($COURSE_SANDBOX_UIDS). No account is created: the
  kernel needs none. A uid of its own makes "every process of the sandbox" exact: the grader counts
  their CPU time and kills them all, whatever they did (`setsid`, double forks).
- `support_folder`: the read-only folder that student code imports the course from. It holds the
  sandbox worker and the few library modules that exercises import (found by following the
  instructor copy's imports), and never an exercise module, a test or a solution.
- `process_table`, `kill_processes`, `cpu_seconds`: /proc, read by root.
"""
from __future__ import annotations

import ast
import functools
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

from course import CHECKOUT_ROOT
from course.grading.confine import namespaces_available, not_dumpable  # noqa: F401  (re-exported)

UID_POOL = range(40000, 60000)
UID_BLOCK = 256
WORKER_MODULES = ("course.grading.sandbox_worker", "course.grading.confine")
EXERCISES_PACKAGE = "course.exercises"


@dataclass
class SandboxLimits:
    memory_bytes: int = 4 * 2**30      # RLIMIT_AS of each process (importing torch alone reserves ~0.6 GiB)
    processes: int = 32                # RLIMIT_NPROC: processes and threads of the worker's uid
    file_bytes: int = 64 * 2**20       # RLIMIT_FSIZE: the largest file it may write
    open_files: int = 256              # RLIMIT_NOFILE
    disk_bytes: int = 256 * 2**20      # its scratch tmpfs (with namespaces)
    call_cpu_s: float = 20.0           # CPU seconds per call of a student function
    call_wall_s: float = 120.0         # wall-clock backstop per call, against code that sleeps
    worker_cpu_s: int = 1800           # RLIMIT_CPU of each process: a backstop over all calls

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "SandboxLimits":
        text = os.environ.get("COURSE_SANDBOX_LIMITS")
        return cls(**json.loads(text)) if text else cls()


def isolation_tier() -> str:
    """'namespaces' (root, namespaces allowed), 'uid' (root without them) or 'best-effort' (not root)."""
    if os.geteuid() != 0:
        return "best-effort"
    return "namespaces" if namespaces_available() else "uid"


TIER_WORDS = {
    "namespaces": "isolation: student code runs as its own uid in new PID and mount namespaces (no access to the grader's files)",
    "uid": "isolation is partial: student code runs as its own uid with limits, but without namespaces "
           "it can read whatever every user can read",
    "best-effort": "isolation is best-effort: not running as root",
}


# --------------------------------------------------------------------------------------
# Processes, from /proc
# --------------------------------------------------------------------------------------
class Process(NamedTuple):
    pid: int
    ppid: int
    session: int
    uid: int
    cpu_ticks: int  # user + system, its own and its reaped children's
    state: str


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_table() -> list[Process]:
    table = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for name in entries:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as file:
                stat = file.read()
            with open(f"/proc/{name}/status", "rb") as file:
                status = file.read()
        except OSError:
            continue  # ended meanwhile
        fields = stat[stat.rfind(b")") + 2:].split()
        uid_line = status[status.find(b"\nUid:") + 5:].split(None, 1)
        table.append(Process(int(name), int(fields[1]), int(fields[3]), int(uid_line[0]),
                             sum(int(f) for f in fields[11:15]), fields[0].decode()))
    return table


def cpu_seconds(processes) -> float:
    return sum(p.cpu_ticks for p in processes) / CLOCK_TICKS


def descendants(root_pid: int, table) -> list[Process]:
    children, found, todo = {}, [], [root_pid]
    for p in table:
        children.setdefault(p.ppid, []).append(p)
    while todo:
        for p in children.get(todo.pop(), ()):
            found.append(p)
            todo.append(p.pid)
    return found


def kill_processes(match, keep=(), rounds: int = 200) -> bool:
    """SIGKILL every live process `match` selects (but `keep` and ourselves), until none is left."""
    keep = {*keep, os.getpid()}
    for _ in range(rounds):
        victims = [p.pid for p in process_table() if p.state not in "ZX" and p.pid not in keep and match(p)]
        if not victims:
            return True
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)
    return False


def kill_uids(uids: range, keep=()) -> bool:
    return kill_processes(lambda p: p.uid in uids, keep)


# --------------------------------------------------------------------------------------
# Sandbox uids
# --------------------------------------------------------------------------------------
def _uids_in_use() -> set[int]:
    taken = {p.uid for p in process_table()}
    try:
        with open("/etc/passwd") as file:
            taken |= {int(line.split(":")[2]) for line in file if line.count(":") >= 3 and line.split(":")[2].isdigit()}
    except OSError:
        pass
    return taken


def uid_block_from_env() -> range | None:
    text = os.environ.get("COURSE_SANDBOX_UIDS")
    if not text:
        return None
    start, count = map(int, text.split(","))
    return range(start, start + count)


def choose_uid_block() -> range:
    """A block of UID_BLOCK uids of the pool that no process and no account uses."""
    taken = _uids_in_use()
    starts = list(range(UID_POOL.start, UID_POOL.stop, UID_BLOCK))
    random.shuffle(starts)
    for start in starts:
        block = range(start, min(start + UID_BLOCK, UID_POOL.stop))
        if not taken.intersection(block):
            return block
    raise RuntimeError(f"no free block of sandbox uids in {UID_POOL.start}-{UID_POOL.stop - 1}")


def choose_uid(block: range) -> int:
    free = sorted(set(block) - _uids_in_use())
    if not free:
        raise RuntimeError(f"every sandbox uid of {block.start}-{block.stop - 1} is in use")
    return random.choice(free)


# --------------------------------------------------------------------------------------
# What student code may import from the course
# --------------------------------------------------------------------------------------
def _module_file(name: str, root: Path) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_ours(name: str) -> bool:
    return name.split(".")[0] in ("course", "kernels")


def module_imports(path: Path, name: str) -> set[str]:
    """The course/kernels modules a module imports when it is imported (imports inside functions are lazy: left out)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - child.level + 1] + ([base] if base else []))
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return {m for m in found if _is_ours(m)}


def exercise_imports(exercise: str, root: Path = CHECKOUT_ROOT) -> list[str]:
    """The course/kernels modules the instructor's (or released) exercise module imports: preloaded by the host."""
    path = root / "course" / "exercises" / f"{exercise}.py"
    if not path.is_file():
        return []
    return sorted(m for m in module_imports(path, f"{EXERCISES_PACKAGE}.{exercise}")
                  if _module_file(m, root) and not m.startswith(EXERCISES_PACKAGE))


def support_modules(root: Path = CHECKOUT_ROOT) -> dict[str, Path]:
    """{module: file} that workers and exercises need, with their parent packages; never an exercise."""
    todo = list(WORKER_MODULES)
    for path in sorted((root / "course" / "exercises").glob("ex*.py")):
        todo += exercise_imports(path.stem, root)
    found = {}
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for cut in range(1, len(parts) + 1):
            prefix = ".".join(parts[:cut])
            path = _module_file(prefix, root)
            if path is None or prefix in found:
                continue
            if prefix == EXERCISES_PACKAGE or prefix.startswith(EXERCISES_PACKAGE + "."):
                raise RuntimeError(f"the sandbox would expose {prefix}: exercises must not be imported by library code")
            if "# BEGIN SOLUTION" in path.read_text():
                raise RuntimeError(f"the sandbox would expose {path}, which holds a solution")
            found[prefix] = path
            todo += sorted(module_imports(path, prefix))
    return found


@functools.lru_cache(maxsize=None)
def _support_module_names() -> frozenset:
    return frozenset(support_modules())


def support_owners(dotted_names) -> list[str]:
    """The support modules that hold the given functions (e.g. kernels for kernels.arguments.x): what a
    worker imports to switch them off, imported once in the host instead (`import kernels` costs seconds)."""
    names = _support_module_names()
    owners = []
    for dotted in dotted_names:
        parts = dotted.split(".")
        found = [".".join(parts[:cut]) for cut in range(len(parts) - 1, 0, -1) if ".".join(parts[:cut]) in names]
        if found and found[0] not in owners:
            owners.append(found[0])
    return owners


def support_folder(dest: Path, root: Path = CHECKOUT_ROOT) -> Path:
    """Copy the support modules into dest/ (read-only for everyone); returns dest."""
    for name, path in support_modules(root).items():
        target = dest / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    for folder, dirs, files in os.walk(dest):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
    return dest


def new_sandbox_folder() -> Path:
    """A private temp folder for one run: support/ (what the sandbox imports) and root/ (its mount point)."""
    # Outside /tmp where possible: the sandbox's own /tmp is its scratch folder.
    parent = "/run" if os.geteuid() == 0 and os.access("/run", os.W_OK) else None
    base = Path(tempfile.mkdtemp(prefix="course-sandbox-", dir=parent))
    os.chmod(base, 0o755)
    support_folder(base / "support")
    (base / "root").mkdir(mode=0o755)
    return base


def private_python_folder() -> str | None:
    """The folder holding torch, or one above it, if other users cannot read or pass through it.

    Without namespaces the sandbox uid sees the real filesystem: the worker is forked from a host
    that has imported torch already, but the modules torch imports later must still be readable,
    so torch's site-packages and every folder above it must be open to other users (o+rx). A
    virtualenv made under `mktemp -d` (mode 700) is not.
    """
    import torch

    path = Path(torch.__file__).resolve().parent.parent
    for part in (path, *path.parents):
        mode = os.stat(part).st_mode
        if not mode & 0o001 or (part == path and not mode & 0o004):
            return str(part)
    return None


def python_binds(exclude: Path = CHECKOUT_ROOT) -> tuple[list[str], list[str]]:
    """The folders the sandbox sees read-only (interpreter, stdlib, site-packages) and those it must not.

    A site-packages folder holding an installed `course` (not an editable install) would hand
    over whatever that copy contains: its course/, kernels/, tests/ are masked by empty folders.
    """
    import site
    import sysconfig

    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, *site.getsitepackages(),
               *(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib"))}
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        folders.add(site.getusersitepackages())
    exclude = str(Path(exclude).resolve())
    binds, masks = [], []
    for folder in sorted(folders):
        real = os.path.realpath(folder)
        if not os.path.isdir(real) or real in ("/", "/usr") or real.startswith("/usr/"):
            continue  # /usr is bound whole
        if (real == exclude or real.startswith(exclude + os.sep)) and not real.startswith(os.path.realpath(sys.prefix)):
            continue
        binds.append(real)
    for folder in binds:
        for package in ("course", "kernels", "tests", "lessons"):
            if os.path.isdir(os.path.join(folder, package, "exercises" if package == "course" else "")):
                masks.append(os.path.join(folder, package))
    return binds, masks
