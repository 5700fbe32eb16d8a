"""Call a student's exercise functions in a confined process, so their code cannot touch the tests.

The graded tests never import student code. They hold a proxy,

    ex04 = exercise("ex04_convolution", forbid=["torch.nn.functional.conv2d"])
    ex04.xcorr1d(x, w)          # runs in the sandbox, returns its result

and every call is shipped to a worker process (`sandbox_worker.py`) that loaded the student's
module. Why a process: a student function that loops forever, calls `os._exit` or `sys.exit`,
or crashes the interpreter costs the test that called it and nothing else; whatever it prints
is shown with the test's failure, never read as a result. Results come back through
`torch.load(weights_only=True)`, which only rebuilds tensors and plain Python values.

Workers are forked by one sandbox host per test process and confined (`confine.py`): as root,
each runs as a uid of its own in its own namespaces and filesystem, where neither the grader's
checkout nor the upload exists; the test process reads the student's module and sends its
source. After every call the test process kills every other process of that uid, and it
enforces the per-call limit in CPU seconds of those processes (a loaded machine does not make
correct code time out), with a generous wall-clock backstop against code that sleeps.

The submission is the folder in $COURSE_SUBMISSION (the grader stages the upload's `exNN_*.py`
files there), else this checkout's `course/exercises/`.
"""
from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

from course import CHECKOUT_ROOT
from course.grading import forbidden, isolation
from course.grading.sandbox_worker import pack, size_words, unpack_untrusted
from course.grading.submission import SubmissionFileError, read_regular_file

START_TIMEOUT_S = float(os.environ.get("COURSE_START_TIMEOUT", "300"))  # wall clock: a loaded machine is slow
MAX_RESULT_BYTES = 512 * 2**20
OUTPUT_KEPT_BYTES = 4000
POLL_S = 0.1
SANDBOX_FAILED = 70  # the worker's exit status when confining it failed (before any student code)
SIGNAL_LIMITS = {signal.SIGXCPU: "hit the CPU time limit of a sandbox process",
                 signal.SIGXFSZ: "hit the file size limit"}


class SubmissionError(RuntimeError):
    """The student's code failed: raised, ran out of time, crashed or returned something unusable."""


def submission_root() -> Path:
    return Path(os.environ.get("COURSE_SUBMISSION") or CHECKOUT_ROOT).resolve()


def submission_source(exercise: str) -> tuple[str, str]:
    """(file name, source) of the submission's module for `exercise`, read by this (trusted) process."""
    root = submission_root()
    refused = root / f"{exercise}.refused"  # the grader found the upload's file and refused it: why
    if refused.is_file():
        raise SubmissionError(refused.read_text())
    for path in (root / f"{exercise}.py", root / "course" / "exercises" / f"{exercise}.py"):
        if os.path.lexists(path):
            try:
                return path.name, read_regular_file(path)
            except SubmissionFileError as error:
                raise SubmissionError(str(error)) from None
    raise SubmissionError(f"the upload has no file for {exercise.split('_')[0]} "
                          f"(a file named {exercise}.py, anywhere in the upload)")


# --------------------------------------------------------------------------------------
# The sandbox host: one per test process
# --------------------------------------------------------------------------------------
class SandboxHost:
    """The process that imported torch once and forks confined workers (`sandbox_worker.host_main`)."""

    def __init__(self):
        self.folder = os.environ.get("COURSE_SANDBOX_FOLDER")
        self.own_folder = self.folder is None
        if self.own_folder:
            self.folder = str(isolation.new_sandbox_folder())
        self.support = os.path.join(self.folder, "support")
        self.tier = os.environ.get("COURSE_SANDBOX_TIER") or isolation.isolation_tier()
        self.uids = isolation.uid_block_from_env() or (isolation.choose_uid_block() if self.tier != "best-effort" else None)
        self.binds, self.masks = isolation.python_binds()
        self.limits = isolation.SandboxLimits.from_env()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # setsid first: a session of its own, so importing torch is not charged to the first test's CPU time.
        boot = (f"import os, sys; os.setsid(); sys.path.insert(0, {self.support!r}); "
                f"from course.grading.sandbox_worker import host_main; host_main({theirs.fileno()})")
        self.process = subprocess.Popen([sys.executable, "-I", "-B", "-c", boot], pass_fds=[theirs.fileno()],
                                        stdin=subprocess.DEVNULL, env=_sandbox_environment(), cwd="/")
        theirs.close()
        self.control = ours
        self.preloaded = set()

    def request(self, message: dict, fds=()) -> dict:
        socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))
        ready, _, _ = select.select([self.control], [], [], START_TIMEOUT_S)
        data = self.control.recv(1 << 20) if ready else b""
        if not data:
            raise SubmissionError(f"the sandbox host did not answer (exit status {self.process.poll()})")
        return json.loads(data)

    def preload(self, modules):
        """Modules every worker of an exercise imports (e.g. Triton), imported once in the host."""
        missing = [m for m in modules if m not in self.preloaded]
        if missing:
            self.request({"do": "preload", "modules": missing})
            self.preloaded.update(missing)

    def close(self):
        self.control.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.uids is not None:
            isolation.kill_uids(self.uids)
        if self.own_folder:
            shutil.rmtree(self.folder, ignore_errors=True)


_host: SandboxHost | None = None


def sandbox_host() -> SandboxHost:
    global _host
    if _host is None or _host.process.poll() is not None:
        _host = SandboxHost()
    return _host


def _sandbox_environment() -> dict:
    """What the host (and so every worker) sees of the environment: nothing of the grader's."""
    keep = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "MPLBACKEND", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    env = {k: v for k, v in os.environ.items() if k in keep or k.startswith("TRITON_")}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}


# --------------------------------------------------------------------------------------
# One worker: a confined process serving one exercise module
# --------------------------------------------------------------------------------------
class Worker:
    def __init__(self, exercise: str, forbid_names, forbid_aten):
        self.exercise = exercise
        filename, source = submission_source(exercise)  # before the host starts: an empty upload needs none
        host = sandbox_host()
        self.host, self.tier, self.limits = host, host.tier, host.limits
        host.preload(isolation.exercise_imports(exercise) + isolation.support_owners(forbid_names))
        self.uid = isolation.choose_uid(host.uids) if host.uids is not None else None
        self.scratch = None
        if self.tier != "namespaces":
            self.scratch = tempfile.mkdtemp(prefix=f"course-{exercise}-")
            if self.uid is not None:
                os.chown(self.scratch, self.uid, self.uid)
        ours, theirs = socket.socketpair()
        output_read, output_write = os.pipe()
        plan = {"tier": self.tier, "uid": self.uid, "gid": self.uid, "limits": vars(self.limits),
                "scratch": self.scratch, "root": os.path.join(host.folder, "root"),
                "binds": [*host.binds, host.support], "masks": host.masks}
        reply = host.request({"do": "spawn", "plan": plan}, fds=[theirs.fileno(), output_write])
        theirs.close()
        os.close(output_write)
        self.connection = Connection(os.dup(ours.fileno()))
        ours.close()
        self.output, self.output_fd, self.dropped = b"", output_read, 0
        self.child, self.pid = reply.get("child"), reply.get("worker")
        if not reply["ok"]:
            self.stop()
            raise SubmissionError(f"the sandbox could not start a worker for {exercise}: {self.take_output()}")
        self.send(("load", exercise, filename, source, list(forbid_names), forbid_aten))
        reply = self.receive(f"loading {exercise}", START_TIMEOUT_S, START_TIMEOUT_S)
        if not reply["ok"]:
            self.stop()
            raise SubmissionError(reply["error"])

    # -- limits and clean-up ------------------------------------------------------------
    def _own_cpu(self) -> float:
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as file:
                stat = file.read()
        except OSError:
            return 0.0
        return sum(int(f) for f in stat[stat.rfind(b")") + 2:].split()[11:15]) / isolation.CLOCK_TICKS

    def others_alive(self) -> bool:
        """Whether the worker has company (cheap with namespaces: its PID namespace's own /proc)."""
        if self.tier != "namespaces":
            return True
        try:
            return any(name.isdigit() and name != "1" for name in os.listdir(f"/proc/{self.pid}/root/proc"))
        except OSError:
            return True

    def cpu_used(self) -> float:
        """CPU seconds of the worker and of every other process of the sandbox."""
        if not self.others_alive():
            return self._own_cpu()
        table = isolation.process_table()
        if self.uid is not None:
            return isolation.cpu_seconds(p for p in table if p.uid == self.uid)
        return isolation.cpu_seconds([p for p in table if p.pid == self.pid] + isolation.descendants(self.pid, table))

    def sweep(self, keep_worker=True):
        """Kill every process of the sandbox except the worker itself (all of them when it is stopping)."""
        keep = {self.pid} if keep_worker else set()
        if keep_worker and not self.others_alive():
            return
        if self.uid is not None:
            isolation.kill_processes(lambda p: p.uid == self.uid, keep)
        elif self.pid is not None:
            others = {p.pid for p in isolation.descendants(self.pid, isolation.process_table())}
            isolation.kill_processes(lambda p: p.pid in others or (not keep_worker and p.pid == self.pid), keep)

    def stop(self):
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.sweep(keep_worker=False)
        code = None
        if self.child is not None:
            try:
                code = self.host.request({"do": "wait", "child": self.child}).get("code")
            except (OSError, SubmissionError):
                pass
        self.connection.close()
        if self.output_fd is not None:
            os.close(self.output_fd)
            self.output_fd = None
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
        self.pid = self.child = None
        return code

    # -- messages ----------------------------------------------------------------------
    def send(self, message):
        self.connection.send_bytes(pack(message))

    def drain_output(self):
        while self.output_fd is not None and select.select([self.output_fd], [], [], 0)[0]:
            chunk = os.read(self.output_fd, 65536)
            if not chunk:
                return
            room = OUTPUT_KEPT_BYTES - len(self.output)
            self.output += chunk[:max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)

    def take_output(self) -> str:
        self.drain_output()
        text = self.output.decode(errors="replace")
        if self.dropped:
            text += f"\n... ({self.dropped} more bytes of output not shown)"
        self.output, self.dropped = b"", 0
        return text

    def receive(self, doing: str, cpu_limit: float, wall_limit: float):
        """The worker's reply, while holding it to `cpu_limit` CPU seconds (all its processes) and `wall_limit`."""
        cpu_start, wall_start = self.cpu_used(), time.monotonic()
        fds = [self.connection.fileno(), self.output_fd]
        while True:
            ready = select.select(fds, [], [], POLL_S)[0]
            if self.output_fd in ready:
                self.drain_output()
            if self.connection.fileno() in ready:
                break
            used = self.cpu_used() - cpu_start
            if used > cpu_limit:
                self.stop()
                raise SubmissionError(f"{doing} used more than {cpu_limit:g} s of CPU time "
                                      "(the limit per call; an infinite loop?)")
            if time.monotonic() - wall_start > wall_limit:
                self.stop()
                raise SubmissionError(f"{doing} did not finish within {wall_limit:g} s of wall-clock time "
                                      "(sleeping, or waiting for something that never comes?)")
        try:
            data = self.connection.recv_bytes(MAX_RESULT_BYTES)
        except OSError:  # a length prefix that makes no sense: bytes written into the channel by the student's code
            self.stop()
            raise SubmissionError(f"{doing}: the submission's process sent something that is not a reply "
                                  "(did it write into its channel to the tests?)") from None
        except EOFError:
            self.drain_output()
            code = self.stop()
            if code == SANDBOX_FAILED:
                raise SubmissionError(f"the sandbox could not be set up: {self.take_output()[-1000:]}") from None
            raise SubmissionError(ended_because(doing, code, self.limits)) from None
        try:
            return unpack_untrusted(data)
        except Exception:
            self.stop()
            raise SubmissionError(f"{doing}: the submission sent back something that is not plain data") from None


def ended_because(doing: str, code, limits) -> str:
    words = f"the submission's process ended while {doing} (exit status {code})"
    if code is not None and code > 128:
        number = code - 128
        if number in SIGNAL_LIMITS:
            words += f": it {SIGNAL_LIMITS[number]}"
        elif number == signal.SIGKILL:
            words += (f": killed; perhaps it hit a limit (memory {size_words(limits.memory_bytes)}, "
                      f"{limits.processes} processes)")
        else:
            words += f": killed by {signal.Signals(number).name}, a crash in the student's code"
    else:
        words += ": a call to sys.exit/os._exit in the student's code"
    return words


# --------------------------------------------------------------------------------------
# The proxy the graded tests hold
# --------------------------------------------------------------------------------------
_current_submission: list = [None]  # set per test by the grader's plugin when it grades several uploads


def use_submission(folder) -> None:
    """Grade the upload in `folder` from now on (the workers of the previous one are stopped)."""
    if folder != _current_submission[0]:
        _current_submission[0] = folder
        if folder is not None:
            os.environ["COURSE_SUBMISSION"] = str(folder)
        for proxy in _proxies:
            proxy._stop()


class ExerciseProxy:
    """Stands for one exercise module of the submission; attribute access gives remote calls."""

    def __init__(self, exercise: str, forbid=()):
        self._exercise = exercise
        self._forbid = forbidden.python_names(forbid)
        self._forbid_aten = forbidden.aten_operators(forbid)
        self._worker = None
        self._broken = None  # why the module cannot be loaded at all: fail fast on every call

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def remote(*args, **kwargs):
            return self._call(name, args, kwargs)

        remote.__name__ = name
        return remote

    def __repr__(self):
        return f"<exercise {self._exercise} of submission {submission_root()}>"

    def _stop(self):
        if self._worker is not None:
            self._worker.stop()
        self._worker, self._broken = None, None

    def _call(self, name, args, kwargs):
        if self._broken:
            raise SubmissionError(self._broken)
        if self._worker is None or self._worker.pid is None:
            try:
                self._worker = Worker(self._exercise, self._forbid, self._forbid_aten)
            except SubmissionError as error:
                self._broken = str(error)
                raise
        worker = self._worker
        limits = worker.limits
        try:
            worker.send(("call", name, args, kwargs))
            reply = worker.receive(f"{self._exercise}.{name}", limits.call_cpu_s, limits.call_wall_s)
        finally:
            if worker.pid is not None:
                worker.sweep()
            printed = worker.take_output()
            if printed:
                print(printed)
        if reply["ok"]:
            return reply["value"]
        if reply["type"] == "NotImplementedError":
            raise NotImplementedError(reply["message"])
        raise SubmissionError(f"{name} raised {reply['type']}: {reply['message']}\n{reply['traceback']}")


_proxies: list[ExerciseProxy] = []


def exercise(name: str, forbid=()) -> ExerciseProxy:
    """A proxy for the submission's module `name` (loaded on first call)."""
    proxy = ExerciseProxy(name, forbid)
    _proxies.append(proxy)
    return proxy


@atexit.register
def _stop_all():
    global _host
    for proxy in _proxies:
        proxy._stop()
    if _host is not None:
        _host.close()
        _host = None
