"""The sandbox side: a host process that forks one confined worker per exercise module, and the worker.

The test process (`sandbox.py`) starts one *host* per test process:

    python -I -B -c "...; from course.grading.sandbox_worker import host_main; host_main(fd)"

from a read-only support folder that holds this file and the few `course`/`kernels` modules
exercises may import (never an exercise module, never a test). The host imports torch once and
then, for every exercise module to load, forks a worker, confines it (`confine.py`: its own
uid, namespaces, filesystem, limits) and lets it serve calls. Forking saves re-importing torch
for each worker (about 2 s of CPU each). The host itself never runs student code.

A worker receives the student's module *source* (read by the test process, which may read
the submission) and the calls; every message both ways is a `torch.save`d tuple. It answers
each call with {"ok": True, "value": ...} or the exception's type, message and traceback.
During a call it records the ATen operators that run (a TorchDispatchMode), so a forbidden
operator is caught whatever Python route reached it, and it compares each tensor argument
before and after, so an input changed in place is reported.
"""
import errno
import importlib
import importlib.util
import inspect
import io
import json
import os
import socket
import sys
import traceback
from multiprocessing.connection import Connection

import torch
from torch.utils._python_dispatch import TorchDispatchMode, _get_current_dispatch_mode

from course.grading.confine import PR_SET_PDEATHSIG, confine, not_dumpable, prctl

ALLOWED_RESULT_TYPES = (torch.Tensor, int, float, bool, str, type(None), torch.Size)
MESSAGE_CHARS, TRACEBACK_CHARS = 2000, 4000


def pack(value) -> bytes:
    """torch.save's plain pickle format: a third faster than its zip format for the small messages of a call."""
    buffer = io.BytesIO()
    torch.save(value, buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()


def unpack_untrusted(data: bytes):
    """Rebuild what a sandbox sent: tensors and plain values only, never arbitrary objects."""
    return torch.load(io.BytesIO(data), weights_only=True)


# --------------------------------------------------------------------------------------
# What a student's call may not do
# --------------------------------------------------------------------------------------
class ForbiddenOperation(RuntimeError):
    pass


class OperatorRecord(TorchDispatchMode):
    """Every ATen operator dispatched while active; a forbidden one raises where it runs."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # no torch._dynamo wrapper around __torch_dispatch__ (importing it costs seconds)

    def __init__(self, forbidden: dict, function: str):
        super().__init__()
        self.forbidden, self.function, self.caught = forbidden, function, []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func._schema.name.removeprefix("aten::")
        if name in self.forbidden:
            self.caught.append(name)
            raise ForbiddenOperation(self.explain(name))
        return func(*args, **(kwargs or {}))

    def explain(self, name: str) -> str:
        return (f"{self.function} ran the operator aten::{name} ({self.forbidden[name]}), which this "
                "exercise forbids: write the computation yourself")


def forbid_python(dotted: str, exercise: str) -> None:
    """Replace a Python function (e.g. a course helper) by one that refuses to run; absent modules need nothing."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:-1]:
                owner = getattr(owner, attribute)
        except AttributeError:
            return
        break
    else:
        return  # not importable in the sandbox: the student cannot call it either

    def refuse(*args, **kwargs):
        raise ForbiddenOperation(f"{exercise} must not call {dotted}: write the computation yourself")

    setattr(owner, parts[-1], refuse)


def tensors_in(value, label: str):
    """(label, tensor) for every tensor in an argument, nested lists, tuples and dicts included."""
    if isinstance(value, torch.Tensor):
        yield label, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from tensors_in(item, f"{label}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from tensors_in(item, f"{label}[{key!r}]")


def argument_labels(function, args, kwargs) -> dict:
    try:
        return dict(inspect.signature(function).bind(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return {**{f"argument {i + 1}": a for i, a in enumerate(args)}, **kwargs}


def _storage_bytes(tensor: torch.Tensor) -> torch.Tensor:
    return torch.empty(0, dtype=torch.uint8, device=tensor.device).set_(tensor.untyped_storage())


def snapshot(labelled: dict):
    """Each tensor argument's version counter and a copy of its whole storage."""
    return [(label, t, t._version, _storage_bytes(t).clone()) for name, value in labelled.items()
            for label, t in tensors_in(value, name) if t.layout == torch.strided]


def modified_in_place(before, result) -> list:
    """Labels of arguments whose memory changed, except those returned (the `out` convention)."""
    returned = {t.untyped_storage().data_ptr() for _, t in tensors_in(result, "result")}
    changed = []
    for label, tensor, version, copy in before:
        if tensor.untyped_storage().data_ptr() in returned:
            continue
        now = _storage_bytes(tensor)
        if tensor._version != version or now.shape != copy.shape or not torch.equal(now, copy):
            changed.append(label)
    return changed


def check_result(value, name):
    """Only what the test process can rebuild safely: tensors, numbers, strings, and containers of them."""
    if isinstance(value, (tuple, list)):
        for item in value:
            check_result(item, name)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_result(key, name)
            check_result(item, name)
    elif not isinstance(value, ALLOWED_RESULT_TYPES):
        raise TypeError(f"{name} returned a {type(value).__module__}.{type(value).__qualname__}; "
                        "expected a torch.Tensor, a number, or a tuple/list/dict of them")


# --------------------------------------------------------------------------------------
# Limits, in words
# --------------------------------------------------------------------------------------
def size_words(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def limit_hit(error: BaseException, limits: dict):
    """Which sandbox limit an exception comes from, in words, or None."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        text = str(error)
        if isinstance(error, MemoryError) or (isinstance(error, RuntimeError) and (
                "can't allocate memory" in text or "not enough memory" in text or "std::bad_alloc" in text)):
            return f"hit the memory limit ({size_words(limits['memory_bytes'])})"
        if isinstance(error, OSError):
            if error.errno == errno.EFBIG:
                return f"hit the file size limit ({size_words(limits['file_bytes'])})"
            if error.errno == errno.ENOSPC:
                return f"hit the disk limit ({size_words(limits['disk_bytes'])} of scratch space)"
            if error.errno == errno.EMFILE:
                return f"hit the open files limit ({limits['open_files']})"
            if error.errno == errno.EAGAIN and ("fork" in text or "thread" in text or "Resource" in text):
                return f"hit the process limit ({limits['processes']} processes and threads)"
        error = error.__cause__ or error.__context__
    return None


def error_reply(error: BaseException, limits: dict, skip_frames: int = 1):
    frames = traceback.extract_tb(error.__traceback__)[skip_frames:]
    message = str(error)[:MESSAGE_CHARS]
    hit = limit_hit(error, limits)
    return {
        "ok": False,
        "type": type(error).__name__,
        "message": f"{hit}: {message}" if hit else message,
        "limit": hit,
        "traceback": "".join(traceback.format_list(frames))[-TRACEBACK_CHARS:],
    }


# --------------------------------------------------------------------------------------
# The worker: one exercise module, confined
# --------------------------------------------------------------------------------------
def load(exercise: str, filename: str, source: str, forbid_names):
    for dotted in forbid_names:
        forbid_python(dotted, exercise)
    path = os.path.join(os.getcwd(), os.path.basename(filename))
    with open(path, "w") as file:
        file.write(source)
    spec = importlib.util.spec_from_file_location(exercise, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def call(module, exercise: str, name: str, args, kwargs, forbid_aten: dict):
    function = getattr(module, name, None)
    if not callable(function):
        raise AttributeError(f"the submission's {exercise} has no function {name}")
    before = snapshot(argument_labels(function, args, kwargs))
    record = OperatorRecord(forbid_aten, name)
    with record:
        value = function(*args, **kwargs)
        intact = _get_current_dispatch_mode() is record
    if record.caught:
        raise ForbiddenOperation(record.explain(record.caught[0]))
    if not intact:
        raise ForbiddenOperation(f"{name} switched off the grader's record of the operators it runs")
    changed = modified_in_place(before, value)
    if changed:
        raise ValueError(f"{name} modified its argument `{changed[0]}` in place; "
                         "a function must leave its inputs as it found them (unless it returns them as its output)")
    check_result(value, name)
    return value


def reap_children():
    """The worker is PID 1 of its namespace: orphans of the student's code end up as its children."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(connection: Connection, limits: dict):
    module, exercise, forbid_aten = None, None, {}
    while True:
        reap_children()
        try:
            message = torch.load(io.BytesIO(connection.recv_bytes()), weights_only=False)  # from the trusted side
        except (EOFError, OSError):
            return
        kind = message[0]
        try:
            if kind == "load":
                _, exercise, filename, source, forbid_names, forbid_aten = message
                try:
                    module = load(exercise, filename, source, forbid_names)
                    reply = {"ok": True}
                except BaseException as error:  # SystemExit too: a module that exits on import
                    detail = error_reply(error, limits)
                    reply = {"ok": False, "error": f"importing {exercise} failed: {detail['type']}: "
                                                   f"{detail['message']}\n{detail['traceback']}"}
            else:
                _, name, args, kwargs = message
                try:
                    reply = {"ok": True, "value": call(module, exercise, name, args, kwargs, forbid_aten)}
                except BaseException as error:  # SystemExit and KeyboardInterrupt are the student's too
                    reply = error_reply(error, limits, skip_frames=2)
            data = pack(reply)
        except BaseException as error:  # a reply that cannot be packed
            data = pack({"ok": False, "type": type(error).__name__, "message": str(error)[:MESSAGE_CHARS],
                         "limit": limit_hit(error, limits), "traceback": ""})
        connection.send_bytes(data)


# --------------------------------------------------------------------------------------
# The host: imports torch once, forks confined workers on request
# --------------------------------------------------------------------------------------
def _forget_editable_installs():
    """An editable install maps `course` to the grader's checkout: the sandbox must not follow it."""
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]


def _warm_up():
    """Run the recorder once, so every worker starts with what it imports lazily already imported."""
    torch.set_num_threads(1)
    with OperatorRecord({}, "warm-up"):
        torch.nn.functional.relu(torch.zeros(2)).sum()


def _close_other_fds(keep):
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _spawn(plan: dict, worker_fd: int, output_fd: int):
    """Fork a worker: (the host's child, the worker's pid); the child is the worker or, with namespaces, waits on it."""
    pid_read, pid_write = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.dup2(output_fd, 1)
            os.dup2(output_fd, 2)
            _close_other_fds({worker_fd, pid_write})
            confine({**plan, "pid_fd": pid_write})
            os.close(pid_write)
            sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
            sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True)
            serve(Connection(worker_fd), plan["limits"])
        except BaseException as error:  # confinement failed: never run the student's code
            os.write(2, f"sandbox: could not start the worker: {error}\n".encode())
            os._exit(70)
        os._exit(0)
    os.close(pid_write)
    line = b""
    while not line.endswith(b"\n") and (chunk := os.read(pid_read, 64)):
        line += chunk
    os.close(pid_read)
    return child, (int(line) if line.strip() else None)


def host_main(control_fd: int):
    """Serve spawn requests on `control_fd` (the caller has made this process a session of its own)."""
    not_dumpable()
    prctl(PR_SET_PDEATHSIG, 9)  # the host dies with its test process
    _forget_editable_installs()
    _warm_up()
    control = socket.socket(fileno=control_fd)
    ended = {}  # child pid -> exit status (128 + n: killed by signal n)
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 1 << 20, 4)
        except OSError:
            return
        if not data:
            return
        request = json.loads(data)
        if request["do"] == "preload":
            reply = {"ok": True}
            for name in request["modules"]:
                try:
                    importlib.import_module(name)
                except Exception as error:  # the worker will report it when the student's module imports it
                    reply = {"ok": False, "error": f"{name}: {error}"}
        elif request["do"] == "spawn":
            worker_fd, output_fd = fds
            child, worker = _spawn(request["plan"], worker_fd, output_fd)
            os.close(worker_fd)
            os.close(output_fd)
            reply = {"ok": worker is not None, "child": child, "worker": worker}
        elif request["do"] == "wait":  # how a worker ended (it has been killed or has exited)
            child = request["child"]
            if child not in ended:
                try:
                    ended[child] = _exit_code(os.waitpid(child, 0)[1])
                except ChildProcessError:
                    pass
            reply = {"ok": child in ended, "code": ended.pop(child, None)}
        else:
            reply = {"ok": False, "error": f"unknown request {request['do']!r}"}
        control.send(json.dumps(reply).encode())
        while True:  # collect the children that ended meanwhile
            try:
                child, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if child == 0:
                break
            ended[child] = _exit_code(status)


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return code if code >= 0 else 128 - code
