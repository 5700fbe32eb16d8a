"""The sandbox's pieces: forbidden operators caught at the ATen level, inputs changed in place, what
the support folder holds, and (as root) what a worker is: its own uid, PID 1 of its namespace,
a filesystem without the grader's checkout."""
import os
import types

import pytest
import torch
import torch.nn.functional as F

from course import CHECKOUT_ROOT
from course.grading import forbidden, isolation, sandbox
from course.grading.sandbox_worker import ForbiddenOperation, call

from grading_support import root_only, sandbox_processes, upload_of

EX04_FORBIDDEN = forbidden.aten_operators(["torch.nn.functional.conv2d", "torch.nn.functional.unfold"])
ROUTES = {
    "F.conv2d": lambda x, w: F.conv2d(x, w),
    "torch.ops.aten.conv2d": lambda x, w: torch.ops.aten.conv2d(x, w),
    "nn.Conv2d": lambda x, w: torch.nn.Conv2d(1, 1, 2, bias=False)(x),
    "torch.convolution": lambda x, w: torch.convolution(x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
    "F.unfold": lambda x, w: F.unfold(x, 2),
    "torch._C._nn.im2col": lambda x, w: torch._C._nn.im2col(x, [2, 2], [1, 1], [0, 0], [1, 1]),
    "a route caught and retried": lambda x, w: _swallowing(x, w),
}


def _swallowing(x, w):
    try:
        return F.conv2d(x, w)
    except Exception:  # noqa: BLE001  (the attempt is what counts)
        return x


def module_of(**functions):
    return types.SimpleNamespace(**functions)


@pytest.mark.parametrize("route", list(ROUTES))
def test_every_python_route_to_a_forbidden_operator_is_caught(route):
    x, w = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 2, 2)
    with pytest.raises(ForbiddenOperation, match="which this exercise forbids"):
        call(module_of(conv2d=ROUTES[route]), "ex04_convolution", "conv2d", (x, w), {}, EX04_FORBIDDEN)


def test_allowed_operators_still_run():
    x = torch.randn(3, 5)
    value = call(module_of(f=lambda x: (x @ x.T).relu().sum(0)), "ex04_convolution", "f", (x,), {}, EX04_FORBIDDEN)
    torch.testing.assert_close(value, (x @ x.T).relu().sum(0))


def test_an_input_changed_in_place_is_reported_by_name():
    def conv1d(x, w):
        w[:] = w.flip(0)
        return x[: len(x) - len(w) + 1].clone()

    with pytest.raises(ValueError, match="modified its argument `w` in place"):
        call(module_of(conv1d=conv1d), "ex04_convolution", "conv1d", (torch.arange(5.0), torch.arange(2.0)), {}, {})


def test_an_out_argument_that_is_returned_may_change():
    def fill(x, out):
        out.copy_(x * 2)
        return out

    out = call(module_of(fill=fill), "ex06_triton", "fill", (torch.ones(3), torch.zeros(3)), {}, {})
    torch.testing.assert_close(out, torch.full((3,), 2.0))


def test_every_forbidden_torch_function_has_aten_operators_or_says_why_not():
    for path in (CHECKOUT_ROOT / "tests" / "exercises").glob("test_ex*.py"):
        text = path.read_text()
        names = [n for n in forbidden.OPERATORS if f'"{n}"' in text]
        missing = [line.split('"')[1] for line in text.splitlines()
                   if line.strip().startswith('"torch.') and "autograd" not in line and "backward" not in line
                   and line.split('"')[1] not in forbidden.OPERATORS and line.split('"')[1] not in forbidden.PYTHON_ONLY]
        assert not missing, f"{path.name}: no ATen operators known for {missing}"
        assert all(forbidden.aten_operators([n]) for n in names)


def test_the_support_folder_holds_no_exercise_and_no_solution(tmp_path):
    modules = isolation.support_modules()
    assert "course.grading.sandbox_worker" in modules
    assert not [m for m in modules if m.startswith("course.exercises")]
    folder = isolation.support_folder(tmp_path / "support")
    for path in folder.rglob("*.py"):
        assert "# BEGIN SOLUTION" not in path.read_text()
        assert not os.access(path, os.W_OK) or os.geteuid() == 0


WHO_AM_I = '''
import os, sys

def xcorr1d(x, w):
    def can_import(name):
        try:
            __import__(name)
            return True
        except Exception:
            return False
    def can_read(path):
        try:
            open(path).read(1)
            return True
        except Exception:
            return False
    return {"uid": os.getuid(), "gid": os.getgid(), "groups": len(os.getgroups()), "pid": os.getpid(),
            "cwd": os.getcwd(), "home": os.environ.get("HOME", ""), "umask": os.umask(0o077),
            "checkout_entries": ",".join(sorted(os.listdir("@CHECKOUT@"))) if os.path.isdir("@CHECKOUT@") else "",
            "processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
            "checkout": os.path.exists("@CHECKOUT@/course") or os.path.exists("@CHECKOUT@/tests"), "solution": can_import("course.exercises.ex04_convolution"),
            "tests": can_read("@CHECKOUT@/tests/exercises/test_ex04_convolution.py"),
            "grader_env": ",".join(k for k in os.environ if k.startswith("COURSE")), "torch": can_import("torch"),
            "triton_launcher": can_import("course.runtime.triton_launcher")}
'''


@root_only
def test_a_worker_runs_as_its_own_uid_alone_in_a_filesystem_without_the_grader(tmp_path, monkeypatch):
    processes_before = sandbox_processes()
    upload = upload_of(tmp_path, {"ex04_convolution.py": WHO_AM_I.replace("@CHECKOUT@", str(CHECKOUT_ROOT))})
    monkeypatch.setenv("COURSE_SUBMISSION", str(upload))
    proxy = sandbox.exercise("ex04_convolution")
    try:
        me = proxy.xcorr1d(torch.zeros(1), torch.zeros(1))
        assert me["uid"] in isolation.UID_POOL and me["gid"] == me["uid"] and me["groups"] == 0
        assert me["pid"] == 1 and me["processes"] == 1  # PID 1 of a namespace of its own, alone
        assert me["cwd"] == me["home"] == "/sandbox" and me["umask"] == 0o077
        assert not me["checkout"] and not me["solution"] and not me["tests"] and not me["grader_env"]
        assert me["torch"] and me["triton_launcher"]
        # Only a virtualenv inside the checkout (a developer's .venv) is there, read-only: nothing else of it.
        assert set(me["checkout_entries"].split(",")) <= {"", ".venv"}
    finally:
        proxy._stop()
    assert not sandbox_processes() - processes_before


def test_off_root_grading_still_works_without_uid_or_namespaces(tmp_path, monkeypatch):
    """What a student's laptop gets (forced here, so root runs it too): a worker of our own uid, with limits."""
    upload = upload_of(tmp_path, {"ex04_convolution.py": WHO_AM_I.replace("@CHECKOUT@", str(CHECKOUT_ROOT))})
    monkeypatch.setenv("COURSE_SUBMISSION", str(upload))
    monkeypatch.setenv("COURSE_SANDBOX_TIER", "best-effort")
    monkeypatch.setattr(sandbox, "_host", None)
    proxy = sandbox.exercise("ex04_convolution")
    try:
        me = proxy.xcorr1d(torch.zeros(1), torch.zeros(1))
        assert me["uid"] == os.getuid() and me["torch"] and me["umask"] == 0o077
        assert me["cwd"] == me["home"] != os.getcwd()
    finally:
        proxy._stop()
        sandbox._host.close()
        sandbox._host = None


@root_only
def test_without_namespaces_a_worker_still_runs_as_its_own_uid(tmp_path, monkeypatch):
    """A container that forbids namespaces (forced here): separate uid and limits, the same filesystem."""
    if isolation.private_python_folder():  # e.g. CI's virtualenv under a mode-700 mktemp folder
        pytest.skip(f"{isolation.private_python_folder()} is closed to other users: without namespaces the "
                    "sandbox uid cannot import torch from it (the grader warns about this)")
    processes_before = sandbox_processes()
    upload = upload_of(tmp_path, {"ex04_convolution.py": WHO_AM_I.replace("@CHECKOUT@", str(CHECKOUT_ROOT))})
    os.chmod(tmp_path, 0o755)
    monkeypatch.setenv("COURSE_SUBMISSION", str(upload))
    monkeypatch.setenv("COURSE_SANDBOX_TIER", "uid")
    monkeypatch.setattr(sandbox, "_host", None)
    proxy = sandbox.exercise("ex04_convolution")
    try:
        me = proxy.xcorr1d(torch.zeros(1), torch.zeros(1))
        assert me["uid"] in isolation.UID_POOL and me["groups"] == 0 and me["pid"] != 1
        assert me["cwd"] == me["home"] and me["umask"] == 0o077 and not me["grader_env"]
    finally:
        proxy._stop()
        sandbox._host.close()
        sandbox._host = None
    assert not sandbox_processes() - processes_before


def test_off_root_the_grader_says_isolation_is_best_effort_in_one_line(monkeypatch, capsys, tmp_path):
    from course.__main__ import main

    monkeypatch.setattr(isolation, "isolation_tier", lambda: "best-effort")
    assert main(["grade", "ex04", "--submission", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "isolation is best-effort: not running as root"
