"""The grader: runs the graded tests in a child process and writes the report itself.

    grade(exercises, upload, limits)            -> GradeRun (never raises for anything the upload does)
    grade_many({label: upload}, exercises, ...) -> {label: GradeRun}, every upload graded in one child

The tests are always this checkout's `tests/exercises/` (an upload cannot bring its own); the
upload only supplies `exNN_*.py` files, found anywhere in it (`submission.py`) and copied into a
folder of the grader's, from which the test process reads them and sends their source to the
sandbox. The child streams signed events (`channel.py`, `plugin.py`); the parent holds each test
to a limit in CPU seconds of the test process and its sandboxes (fair on a loaded machine), with
a wall-clock backstop, and the whole run to a wall-clock limit. When the child dies or a test
overruns, the parent records that test as failed, kills the child and every sandbox process,
starts a new child for the tests left, and finally marks whatever never finished. Nothing the
child prints is read.
"""
from __future__ import annotations

import ast
import functools
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from course import CHECKOUT_ROOT
from course.grading import channel, isolation
from course.grading.submission import find_exercise_files, stage

TESTS_DIR = CHECKOUT_ROOT / "tests" / "exercises"
EXERCISES_DIR = CHECKOUT_ROOT / "course" / "exercises"
TEST_FILE = re.compile(r"test_(ex\d\d)_(\w+)\.py")
COLLECT_TIMEOUT_S = 300.0  # wall clock: importing torch on a loaded machine
CPU_CHECK_S = 1.0  # how often the per-test CPU time is read from /proc


class GraderError(Exception):
    """The grader itself cannot run (exit status 2)."""


class GradingInterrupted(Exception):
    """The grader received SIGTERM/SIGINT/SIGHUP (e.g. the platform's own time limit)."""


@functools.lru_cache(maxsize=None)
def exercise_functions(exercise: str) -> tuple[str, ...]:
    """The public functions of an exercise module (the instructor's or released copy: same names)."""
    path = EXERCISES_DIR / f"{exercise}.py"
    if not path.is_file():
        return ()
    tree = ast.parse(path.read_text())
    return tuple(n.name for n in tree.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_"))


@dataclass
class GradedTest:
    nodeid: str
    points: float
    submission: str | None = None  # the upload's label when several are graded in one run
    status: str = "not run"  # passed | failed | timeout | crashed | not run
    message: str = ""
    seconds: float = 0.0

    @property
    def exercise(self) -> str:
        return Path(self.nodeid.split("::")[0]).stem.removeprefix("test_")

    @property
    def test_name(self) -> str:
        return self.nodeid.split("::", 1)[1]

    @property
    def name(self) -> str:
        return f"{self.exercise}::{self.test_name}"

    @property
    def function(self) -> str:
        """The exercise function the test checks: graded tests are named test_<function>_<property>."""
        base = self.test_name.split("[")[0]
        matches = [f for f in exercise_functions(self.exercise) if base.startswith(f"test_{f}_")]
        return max(matches, key=len) if matches else base.removeprefix("test_")

    @property
    def score(self) -> float:
        return self.points if self.status == "passed" else 0.0


@dataclass
class Limits:
    per_test_s: float = 60.0     # CPU seconds per test (the test process and its sandboxes)
    total_s: float = 900.0       # wall clock, the whole run
    call_s: float = 20.0         # CPU seconds per call of a student function
    memory_gib: float = 4.0      # address space of each sandbox process
    processes: int = 32          # processes and threads of one sandbox
    file_mib: float = 64.0       # largest file a sandbox may write
    open_files: int = 256
    disk_mib: float = 256.0      # a sandbox's scratch space (with namespaces)
    test_wall_s: float | None = None   # backstops against sleeping code; default: generous multiples
    call_wall_s: float | None = None

    @property
    def test_wall(self) -> float:
        return self.test_wall_s or max(180.0, 5 * self.per_test_s)

    def sandbox(self) -> isolation.SandboxLimits:
        return isolation.SandboxLimits(
            memory_bytes=int(self.memory_gib * 2**30), processes=self.processes,
            file_bytes=int(self.file_mib * 2**20), open_files=self.open_files, disk_bytes=int(self.disk_mib * 2**20),
            call_cpu_s=self.call_s, call_wall_s=self.call_wall_s or max(60.0, 6 * self.call_s),
            worker_cpu_s=int(max(self.total_s, self.per_test_s) + 60))


@dataclass
class GradeRun:
    tests: list[GradedTest] = field(default_factory=list)
    seconds: float = 0.0
    child_log: str = ""
    notes: list[str] = field(default_factory=list)   # for the student: what was graded, what was refused
    error: str | None = None                         # why the whole run scores 0 (grader error, empty upload...)
    isolation: str = ""

    @property
    def output(self) -> str:
        return "\n".join(([f"Not graded: {self.error}"] if self.error else []) + self.notes)


def exercise_test_files() -> dict[str, Path]:
    """{'ex04_convolution': path of its graded tests} for every exercise of this checkout."""
    if not TESTS_DIR.is_dir():
        raise GraderError(f"no graded tests at {TESTS_DIR}: the grader needs an (editable) checkout of the course")
    return {f"{m[1]}_{m[2]}": path for path in sorted(TESTS_DIR.glob("test_ex*.py")) if (m := TEST_FILE.fullmatch(path.name))}


def select_exercises(requested) -> dict[str, Path]:
    """Test files for the requested exercises ('ex04' or 'ex04_convolution'); all when none asked."""
    available = exercise_test_files()
    if not requested:
        return available
    chosen = {}
    for name in requested:
        matches = {k: v for k, v in available.items() if k == name or k.split("_")[0] == name}
        if not matches:
            valid = ", ".join(k.split("_")[0] for k in available) or "none"
            raise ValueError(f"unknown exercise {name!r}; valid: {valid}")
        chosen.update(matches)
    return chosen


# --------------------------------------------------------------------------------------
# The child: one pytest process with the grader's plugin
# --------------------------------------------------------------------------------------
@dataclass
class RunSetup:
    """What a child needs: the staged uploads, the sandbox folder, the uids, the limits."""
    folder: Path
    submissions: dict[str, Path]          # label -> staged folder
    limits: Limits
    tier: str
    uids: range | None
    found: dict = field(default_factory=dict)  # label -> Upload: the files found and those refused
    functions: dict = field(default_factory=dict)  # label -> the only functions to grade (all when absent)

    def environment(self) -> dict:
        env = {"COURSE_SANDBOX_FOLDER": str(self.folder), "COURSE_SANDBOX_TIER": self.tier,
               "COURSE_SANDBOX_LIMITS": self.limits.sandbox().to_env()}
        if self.uids is not None:
            env["COURSE_SANDBOX_UIDS"] = f"{self.uids.start},{len(self.uids)}"
        if len(self.submissions) == 1:
            env["COURSE_SUBMISSION"] = str(next(iter(self.submissions.values())))
        else:
            set_file = self.folder / "submissions.json"
            set_file.write_text(json.dumps({k: {"folder": str(v), "functions": sorted(self.functions.get(k, ()))}
                                            for k, v in self.submissions.items()}))
            env["COURSE_SUBMISSION_SET"] = str(set_file)
        return env

    def kill_sandboxes(self):
        if self.uids is not None:
            isolation.kill_uids(self.uids)

    def cpu_seconds(self, child_pid: int) -> float:
        """CPU time of the test process, everything in its session and every sandbox process."""
        uids = self.uids or ()
        return isolation.cpu_seconds(p for p in isolation.process_table() if p.session == child_pid or p.uid in uids)


class _Child:
    """One pytest process with the grader plugin, and the signed events it streams."""

    def __init__(self, pytest_args, setup: RunSetup, log):
        self.key = channel.new_key()
        read_end, write_end = os.pipe()
        key_read, key_write = os.pipe()
        os.write(key_write, self.key)  # 32 bytes fit in any pipe buffer
        os.close(key_write)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_")}
        env.update(setup.environment(), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", MPLBACKEND="Agg",
                   COURSE_GRADER_FD=str(write_end), COURSE_GRADER_KEY_FD=str(key_read), PYTHONDONTWRITEBYTECODE="1")
        command = [sys.executable, "-m", "pytest", "-p", "course.grading.plugin", "-p", "no:cacheprovider",
                   "--noconftest", "-q", "--no-header", "--color=no", "-o", "addopts=", "--rootdir", str(CHECKOUT_ROOT),
                   "-c", str(CHECKOUT_ROOT / "pytest.ini"), *pytest_args]
        self.process = subprocess.Popen(command, cwd=CHECKOUT_ROOT, env=env, stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT, pass_fds=[write_end, key_read],
                                        start_new_session=True)
        os.close(write_end)
        os.close(key_read)
        self.setup = setup
        self.pipe = read_end
        self.buffer = b""

    def events(self, timeout: float):
        """Events that arrived within `timeout` seconds; None once the child closed the pipe."""
        ready, _, _ = select.select([self.pipe], [], [], timeout)
        if not ready:
            return []
        chunk = os.read(self.pipe, 65536)
        if not chunk:
            return None
        self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        return [e for line in lines if line and (e := channel.verify(self.key, line)) is not None]

    def kill(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the child, its sandbox host and what stayed in its session
        except ProcessLookupError:
            pass
        self.process.wait()
        self.setup.kill_sandboxes()  # and every sandbox process, wherever it went
        os.close(self.pipe)


def _check_points(tests):
    unmarked = [t.nodeid for t in tests if not isinstance(t.points, (int, float))]
    if unmarked:
        raise GraderError(f"graded tests without @pytest.mark.points(n): {', '.join(unmarked)}")


def collect(test_files, submission: Path | None = None, limits: Limits | None = None) -> list[GradedTest]:
    """The graded tests and their points, collected in a child (no student code runs there)."""
    with _run_setup({"collect": submission or CHECKOUT_ROOT}, limits or Limits(), stage_uploads=False) as setup, \
            tempfile.TemporaryFile() as log:
        child = _Child(["--collect-only", *map(str, test_files)], setup, log)
        tests, errors, deadline = [], [], time.monotonic() + COLLECT_TIMEOUT_S
        while (events := child.events(1.0)) is not None and time.monotonic() < deadline:
            for event in events:
                if event["event"] == "collected":
                    tests.append(GradedTest(event["nodeid"], event["points"]))
                elif event["event"] == "collect_error":
                    errors.append(f"{event['nodeid']}: {event['message']}")
        child.kill()
        if errors or not tests:
            log.seek(0)
            raise GraderError("collecting the graded tests failed:\n" + ("\n".join(errors) or log.read().decode()[-3000:]))
    _check_points(tests)
    return tests


def run_tests(tests: list[GradedTest], setup: RunSetup, limits: Limits, progress=None, files=()) -> GradeRun:
    """Run every test, restarting the child after a crash or an overrun, within the limits.

    With `files` instead of `tests`, the first child collects the tests as it starts (one
    process start saved); later children get the node ids of the tests still pending.
    """
    tests = list(tests)
    run, started = GradeRun(tests), time.monotonic()
    by_id = {t.nodeid: t for t in tests}
    deadline = started + limits.total_s
    interrupted = None
    with tempfile.TemporaryFile() as log:
        while (pending := [t for t in tests if t.status == "not run"] or (not tests and files)) \
                and time.monotonic() < deadline and not interrupted:
            args = [t.nodeid for t in pending] if tests else [str(f) for f in files]
            child = _Child(args, setup, log)
            current, progressed, child_gone = None, False, False
            since = cpu_since = cpu_checked = 0.0
            try:
                while True:
                    events = child.events(0.2)
                    now = time.monotonic()
                    for event in events or []:
                        if event["event"] == "collected" and event["nodeid"] not in by_id:
                            by_id[event["nodeid"]] = GradedTest(event["nodeid"], event["points"], event.get("submission"))
                            tests.append(by_id[event["nodeid"]])
                            continue
                        if event["event"] == "collect_error":
                            raise GraderError(f"collecting the graded tests failed: {event['message']}")
                        test = by_id.get(event.get("nodeid"))
                        if test is None or test.status != "not run":
                            continue
                        if event["event"] == "start":
                            _check_points(tests)
                            current, since, progressed = test, now, True
                            cpu_since, cpu_checked = setup.cpu_seconds(child.process.pid), now
                        elif event["event"] == "end":
                            test.status, test.message, test.seconds = event["outcome"], event["message"], now - since
                            if test.status == "skipped":
                                test.status = "failed"  # a graded test that did not run earns nothing
                            current = None
                            if progress:
                                progress(test)
                    if events is None:  # the child is gone
                        child_gone = True
                        if current is not None:
                            current.status = "crashed"
                            current.message = ("the test process ended during this test "
                                               f"(exit status {child.process.wait()}); the submission may have crashed it")
                        break
                    if current is not None and now - cpu_checked >= CPU_CHECK_S:
                        used, cpu_checked = setup.cpu_seconds(child.process.pid) - cpu_since, now
                        if used > limits.per_test_s:
                            current.status = "timeout"
                            current.message = (f"used more than {limits.per_test_s:g} s of CPU time "
                                               "(the limit per test, counting the student's code and the test)")
                        elif now - since > limits.test_wall:
                            current.status = "timeout"
                            current.message = (f"did not finish within {limits.test_wall:g} s of wall-clock time "
                                               "(the backstop per test: sleeping or waiting?)")
                        if current.status == "timeout":
                            current.seconds = now - since
                            break
                    if now > deadline:
                        break
            except GradingInterrupted as why:  # the platform's own limit: report what finished
                interrupted = str(why)
            finally:
                child.kill()
            if progress and current is not None and current.status in ("timeout", "crashed"):
                progress(current)
            if child_gone and not progressed:
                log.seek(0)
                run.child_log = log.read().decode(errors="replace")[-4000:]
                raise GraderError("the test process exited before running any test:\n" + run.child_log)
    run.tests = tests
    if not tests and files and not interrupted:
        run.error = f"the whole run exceeded its {limits.total_s:g} s limit before the graded tests were collected"
    unfinished = [t for t in tests if t.status == "not run"]
    if interrupted:
        for test in unfinished:
            test.message = f"did not run: grading was interrupted ({interrupted})"
        if unfinished:
            run.notes.append(f"Grading was interrupted ({interrupted}): {len(unfinished)} tests did not run and score 0.")
        if not tests:
            run.error = f"grading was interrupted ({interrupted}) before the graded tests were collected"
    elif unfinished:
        for test in unfinished:
            test.message = f"did not finish: the whole run exceeded its {limits.total_s:g} s limit"
        run.notes.append(f"The whole run exceeded its {limits.total_s:g} s limit: {len(unfinished)} tests did not finish "
                         "and score 0.")
    run.seconds = time.monotonic() - started
    return run


# --------------------------------------------------------------------------------------
# Grading uploads
# --------------------------------------------------------------------------------------
class _run_setup:
    """Context: the run's private folder (support modules, staged uploads), uids; all removed at the end."""

    def __init__(self, uploads: dict[str, Path], limits: Limits, exercises=(), stage_uploads=True):
        self.uploads, self.limits, self.exercises, self.stage_uploads = uploads, limits, list(exercises), stage_uploads

    def __enter__(self) -> RunSetup:
        tier = isolation.isolation_tier()
        folder = isolation.new_sandbox_folder()
        uids = isolation.choose_uid_block() if tier != "best-effort" else None
        staged, found_by_label = {}, {}
        for i, (label, upload) in enumerate(self.uploads.items()):
            if not self.stage_uploads:
                staged[label] = Path(upload)
                continue
            target = folder / "submissions" / f"{i:03d}"
            target.mkdir(parents=True, mode=0o700)
            found = find_exercise_files(upload, self.exercises)
            stage(found, target)
            for exercise, problem in found.problems.items():
                (target / f"{exercise}.refused").write_text(problem)
            found_by_label[label] = found
            staged[label] = target
        self.setup = RunSetup(folder, staged, self.limits, tier, uids, found_by_label)
        return self.setup

    def __exit__(self, *exc):
        self.setup.kill_sandboxes()
        shutil.rmtree(self.setup.folder, ignore_errors=True)


def _on_signals():
    """SIGTERM/SIGINT/SIGHUP interrupt grading (which still reports); returns a function that restores them."""
    def interrupt(number, frame):
        raise GradingInterrupted(signal.Signals(number).name)

    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread receives signals (grade_many run from a thread pool)

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    return lambda: [signal.signal(s, h) for s, h in previous.items()]


def grade_many(uploads: dict[str, Path], requested=(), limits: Limits | None = None, progress=None,
               functions: dict | None = None) -> dict[str, GradeRun]:
    """Grade several uploads in one child (each test runs once per upload that has its exercise).

    `functions` ({label: names}) grades only those functions of an upload: the meta-tests grade a
    mutant only on the function it breaks (its other functions are the solution's own).
    """
    limits = limits or Limits()
    isolation.not_dumpable()
    files = select_exercises(requested)
    if not files:
        raise GraderError(f"no graded tests in {TESTS_DIR}")
    for upload in uploads.values():
        if not Path(upload).is_dir():
            raise ValueError(f"submission folder {upload} does not exist")
    restore = _on_signals()
    runs = {label: GradeRun(isolation=isolation.TIER_WORDS[isolation.isolation_tier()]) for label in uploads}
    try:
        with _run_setup(uploads, limits, files) as setup:
            setup.functions = dict(functions or {})
            for label, found in setup.found.items():
                runs[label].notes += found.notes + list(found.problems.values())
                if not found.files:
                    runs[label].error = (f"the upload has no exercise file (expected {', '.join(f'{e}.py' for e in files)}, "
                                         "anywhere in the upload)") + ("" if not found.problems else "; refused: "
                                                                       + "; ".join(found.problems.values()))
            try:
                whole = run_tests([], setup, limits, progress, files=list(files.values()))
            except GradingInterrupted as why:
                whole = GradeRun(notes=[f"Grading was interrupted ({why}): tests that had not finished score 0."])
            for label, run in runs.items():
                run.tests = [t for t in whole.tests if len(uploads) == 1 or t.submission == label]
                run.seconds, run.child_log = whole.seconds, whole.child_log
                run.notes += whole.notes
                run.error = run.error or whole.error
                for test in run.tests:
                    if test.status == "not run" and not test.message:
                        test.message = "did not run: grading was interrupted"
    finally:
        restore()
    return runs


def grade(requested=(), submission: Path | None = None, limits: Limits | None = None, progress=None) -> GradeRun:
    return grade_many({"upload": Path(submission or CHECKOUT_ROOT)}, requested, limits, progress)["upload"]
