"""Confine the current process before it runs a student's code: the kernel's own mechanisms only.

    confine(plan)     called in a freshly forked child of the sandbox host, as root or not

What the child becomes depends on who we are and what the kernel allows (`plan["tier"]`):

- "namespaces" (root, and the kernel lets us create namespaces): new PID, mount, network, IPC
  and UTS namespaces. The child is PID 1 of its own PID namespace, so it sees no other process
  and killing it kills everything it started (`setsid` double-forks included). Its filesystem
  is a new root built from read-only bind mounts of the system and Python folders only
  (`/usr`, `/etc`, the interpreter, site-packages, the grader's small support folder), a fresh
  `/proc`, a few `/dev` nodes and one writable, size-limited tmpfs, `/sandbox`, its cwd and HOME.
  The grader's checkout, the tests, the solutions and the uploaded folder are simply not there.
  Then it becomes an unprivileged uid/gid of its own (no account needed), with no supplementary
  groups, no way to regain privileges (no_new_privs), umask 077 and the resource limits.
- "uid" (root, no namespaces, e.g. a container without CAP_SYS_ADMIN): the separate uid/gid,
  the limits and a scratch folder of its own, but it sees the same filesystem as the grader.
- "best-effort" (not root: a student's laptop): the limits and a scratch folder only.

Only the standard library is used here: this runs before any student code, in the host's child.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import signal

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | CLONE_NEWNET
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38

SANDBOX_HOME = "/sandbox"
SYSTEM_FOLDERS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class ConfineError(OSError):
    """Setting up the confinement failed (the sandbox then refuses to run student code)."""


def _check(result: int, doing: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise ConfineError(errno, f"{doing}: {os.strerror(errno)}")


def prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


def not_dumpable() -> None:
    """No core dumps, no /proc/<pid>/mem or ptrace by unprivileged processes, even of our own uid."""
    try:
        prctl(PR_SET_DUMPABLE, 0)
    except (ConfineError, AttributeError):
        pass


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def namespaces_available() -> bool:
    """Whether this process may create PID and mount namespaces (tried in a throwaway child)."""
    if os.geteuid() != 0:
        return False
    pid = os.fork()
    if pid == 0:
        try:
            unshare(NAMESPACES)
            os._exit(0)
        except BaseException:
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


def _mount(source, target, fstype, flags, data=None) -> None:
    encode = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    _check(_libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
           f"mount {source or fstype} on {target}")


def _read_only_bind(source: str, target: str, extra_flags: int = MS_NODEV) -> None:
    _mount(source, target, None, MS_BIND | MS_REC)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | extra_flags)


def _make_place(root: str, path: str, is_dir: bool) -> str:
    inside = root + path
    os.makedirs(inside if is_dir else os.path.dirname(inside), mode=0o755, exist_ok=True)
    if not is_dir and not os.path.exists(inside):
        open(inside, "w").close()
    return inside


def build_root(root: str, binds, masks, uid: int, gid: int, disk_bytes: int) -> None:
    """A new filesystem at `root` (inside our private mount namespace): what student code may see."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount leaks back to the host
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=4m")
    for path in SYSTEM_FOLDERS:
        if os.path.islink(path):  # merged /usr: /bin -> usr/bin
            os.symlink(os.readlink(path), root + path)
        elif os.path.isdir(path):
            _read_only_bind(path, _make_place(root, path, True))
    for path in binds:
        if os.path.isdir(path):
            _read_only_bind(path, _make_place(root, path, True))
    for path in masks:  # a package folder that must not be importable there (a non-editable course install)
        _mount("tmpfs", root + path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k,mode=0555")
    for name in DEVICES:
        _read_only_bind(f"/dev/{name}", _make_place(root, f"/dev/{name}", False), extra_flags=0)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this PID namespace's only
    os.makedirs(root + SANDBOX_HOME)
    _mount("tmpfs", root + SANDBOX_HOME, "tmpfs", MS_NOSUID | MS_NODEV,
           f"mode=0700,uid={uid},gid={gid},size={max(disk_bytes, 65536)}")
    if not os.path.lexists(root + "/tmp"):  # the writable /tmp is the scratch folder's
        os.symlink(SANDBOX_HOME + "/tmp", root + "/tmp")
    _mount(None, root, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def set_limits(limits: dict) -> None:
    """The rlimits: hard = soft, so the student's code can only lower them."""
    for name, value in (("RLIMIT_AS", limits["memory_bytes"]), ("RLIMIT_NPROC", limits["processes"]),
                        ("RLIMIT_FSIZE", limits["file_bytes"]), ("RLIMIT_NOFILE", limits["open_files"]),
                        ("RLIMIT_CPU", limits["worker_cpu_s"]), ("RLIMIT_CORE", 0)):
        which = getattr(resource, name)
        hard = resource.getrlimit(which)[1]
        value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        resource.setrlimit(which, (value, value))


def drop_privileges(uid: int, gid: int) -> None:
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() != uid or os.geteuid() != uid or os.getgroups():
        raise ConfineError(1, f"could not become uid {uid}")


def confine(plan: dict) -> None:
    """Make this (forked, single-threaded) process the sandbox described by `plan`. Returns in it.

    With namespaces the caller forks once more: this function does that itself and only the
    grandchild (PID 1 of the new PID namespace) returns; the middle process waits for it and
    exits with its status, so the host sees one child that ends when the sandbox ends.
    """
    tier, limits = plan["tier"], plan["limits"]
    uid, gid = plan.get("uid"), plan.get("gid")
    scratch = plan.get("scratch")
    if tier == "namespaces":
        unshare(NAMESPACES)
        child = os.fork()
        if child:  # the middle process: root, outside the new PID namespace; the host reaps it
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            os.write(plan["pid_fd"], f"{child}\n".encode())
            _, status = os.waitpid(child, 0)
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)  # killed by signal n: 128 + n, as a shell says
        build_root(plan["root"], plan["binds"], plan["masks"], uid, gid, limits["disk_bytes"])
        os.chroot(plan["root"])
        scratch = SANDBOX_HOME
    else:
        os.write(plan["pid_fd"], f"{os.getpid()}\n".encode())
    os.chdir(scratch)
    set_limits(limits)
    if tier in ("namespaces", "uid"):
        os.setsid()  # out of the test process's session and process group: kill(0, ...) reaches nothing of the grader's
        drop_privileges(uid, gid)
        prctl(PR_SET_DUMPABLE, 1)  # its own /proc/self stays readable to itself (it holds no secret)
    prctl(PR_SET_NO_NEW_PRIVS, 1)  # setuid binaries in /usr stay unprivileged
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the student may clear it: the grader also kills by uid
    os.umask(0o077)
    os.makedirs(os.path.join(scratch, "tmp"), exist_ok=True)
    os.environ.update(HOME=scratch, TMPDIR=os.path.join(scratch, "tmp"), PWD=scratch)
