"""Build the C++ (and, where torch has CUDA, the CUDA) conv2d and group-convolution extension on first use.

``load()`` compiles ``kernels/csrc`` with ninja through ``torch.utils.cpp_extension`` the
first time it is called on a machine, caches the shared library, and registers the
operators ``torch.ops.conv_circuits.*`` together with their fake (meta) implementations and
autograd formulas (``kernels/operators.py``). Later calls, in this process or the next, reuse
the cached build.

Why at first use and not at install: ``pip install -e .`` must not need a compiler or
import torch (see DESIGN.md, "Build and platform facts").

The library is compiled for the CPU it is built on (``-march=native``: AVX-512 here, AVX2 or
NEON elsewhere). The cache directory name contains a fingerprint of the CPU, so a cache
shared between different machines (a network home directory) never runs code built for
another processor. Set ``CONV_CIRCUITS_BUILD_DIR`` to choose the cache directory.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import torch

from kernels import poison
from kernels.operators import Family, register

CSRC = Path(__file__).resolve().parent / "csrc"
NAME = "conv_circuits_ext"
POISON_VARIABLE = "CONV_CIRCUITS_POISON_OUTPUTS"
BUILD_MESSAGE = "building the C++ extension (first use, about a minute)..."

_lock = threading.Lock()
_state: dict = {}  # "ops" after a successful load, "error" after a failed one


class ExtensionUnavailable(RuntimeError):
    """The extension cannot be built or loaded here; the message says why."""


def _compiler() -> str | None:
    return shutil.which(os.environ.get("CXX", "c++")) or shutil.which("g++") or shutil.which("clang++")


def build_prerequisites() -> tuple[bool, str]:
    """Whether this machine can build the extension: (True, "") or (False, the reason)."""
    from torch.utils.cpp_extension import is_ninja_available

    if _compiler() is None:
        return False, "no C++ compiler found (install g++ or clang++, or set CXX)"
    if not is_ninja_available():
        return False, "ninja not found (pip install ninja)"
    return True, ""


def cuda_reason() -> str:
    """Why the CUDA kernels are not part of the build ("" when they are)."""
    if torch.version.cuda is None:
        return "torch built without CUDA"
    from torch.utils.cpp_extension import CUDA_HOME

    if CUDA_HOME is None or shutil.which(os.path.join(CUDA_HOME, "bin", "nvcc")) is None:
        return "no nvcc (CUDA toolkit not found; set CUDA_HOME)"
    if not torch.cuda.is_available():
        return "no GPU"
    return ""


def _cpu_fingerprint() -> str:
    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features", "model name")):
                flags += line
    except OSError:
        pass
    text = platform.machine() + platform.processor() + flags
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _source_digest() -> str:
    """A fingerprint of every file in kernels/csrc: two checkouts share a build only with identical sources."""
    digest = hashlib.sha256()
    for path in sorted(p for p in CSRC.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(CSRC)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def build_directory() -> Path:
    """Where the compiled library is cached: one folder per torch version, CPU and set of sources.

    Keyed by the sources' contents, so a library built from other sources (another checkout, an
    older commit) is never loaded, and two checkouts never build into the same folder at once.
    """
    if os.environ.get("CONV_CIRCUITS_BUILD_DIR"):
        return Path(os.environ["CONV_CIRCUITS_BUILD_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    tag = f"torch{torch.__version__.replace('+', '_')}-{_cpu_fingerprint()}-src{_source_digest()}"
    return base / "conv_circuits" / f"ext-{tag}"


def _sources(with_cuda: bool) -> list[Path]:
    # The operator registrations (conv2d_ops.cpp, group_conv_ops.cpp), then the CPU kernels.
    sources = [*sorted(CSRC.glob("*_ops.cpp")), *sorted((CSRC / "cpu").glob("*.cpp"))]
    if with_cuda:  # the CUDA bindings (cuda/*_ops.cpp) and kernels
        sources += [*sorted((CSRC / "cuda").glob("*_ops.cpp")), *sorted((CSRC / "cuda").glob("*.cu"))]
    return sources


def _needs_build(directory: Path) -> bool:
    library = directory / f"{NAME}.so"
    if not library.exists():
        return True
    newest = max(p.stat().st_mtime for p in CSRC.rglob("*") if p.is_file())
    return newest > library.stat().st_mtime


def _native_flag(compiler: str) -> list[str]:
    """-march=native where the compiler accepts it (GCC/Clang on x86 and recent Arm)."""
    try:
        ok = subprocess.run([compiler, "-march=native", "-x", "c++", "-E", "-"], input=b"",
                            capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        ok = False
    return ["-march=native"] if ok else []


def _build():
    from torch.utils.cpp_extension import load as cpp_load

    ok, reason = build_prerequisites()
    if not ok:
        raise ExtensionUnavailable(reason)
    with_cuda = cuda_reason() == ""
    directory = build_directory()
    directory.mkdir(parents=True, exist_ok=True)
    if _needs_build(directory):
        print(BUILD_MESSAGE, file=sys.stderr, flush=True)
    # -fopenmp: without it at::parallel_for compiles to a plain serial loop (ATen's OpenMP
    # backend is header code guarded by _OPENMP). The extension then links the libgomp.so.1
    # that torch has already loaded, so there is one OpenMP thread pool, torch's.
    cflags = ["-O3", "-ffp-contract=fast", "-fopenmp", *_native_flag(_compiler())]
    if with_cuda:
        cflags.append("-DCONV_CIRCUITS_WITH_CUDA")
    try:
        cpp_load(
            name=NAME,
            sources=[str(p) for p in _sources(with_cuda)],
            extra_cflags=cflags,
            extra_cuda_cflags=["-O3"],
            extra_ldflags=["-fopenmp"],
            build_directory=str(directory),
            is_python_module=False,
            verbose=bool(os.environ.get("CONV_CIRCUITS_VERBOSE_BUILD")),
        )
    except Exception as error:  # a compiler error, a linker error, a missing header ...
        last = str(error).strip().splitlines()[-3:]
        raise ExtensionUnavailable(f"the C++ extension failed to build in {directory}: {' | '.join(last)}") from error
    _register_python_parts()
    return torch.ops.conv_circuits


def load():
    """Build (once) and load the extension; return ``torch.ops.conv_circuits``.

    Raises ExtensionUnavailable with the reason when it cannot be built here.
    """
    if "ops" in _state:  # checked before taking the lock: cheap, and traceable by torch.compile
        return _state["ops"]
    with _lock:
        if "ops" in _state:
            return _state["ops"]
        if "error" in _state:
            raise ExtensionUnavailable(_state["error"])
        try:
            _state["ops"] = _build()
        except ExtensionUnavailable as error:
            _state["error"] = str(error)
            raise
        return _state["ops"]


def status() -> tuple[bool, str]:
    """(True, "") when the extension loads, else (False, why)."""
    try:
        load()
        return True, ""
    except ExtensionUnavailable as error:
        return False, str(error)


def has_cuda_kernels() -> bool:
    """Whether the loaded extension includes the CUDA kernels."""
    return status()[0] and cuda_reason() == ""


# ---------------------------------------------------------------------------------------
# The operators' families: fake implementations and autograd, registered once after the library loads.
# ---------------------------------------------------------------------------------------

@contextlib.contextmanager
def poison_outputs_if_asked():
    """Inside kernels.poison.poisoned_outputs(), make the C++ kernels start their outputs as NaN.

    The C++ side reads the environment variable CONV_CIRCUITS_POISON_OUTPUTS when it
    allocates an output (see csrc/conv2d_ops.cpp).
    """
    if torch.compiler.is_compiling() or not poison.is_poisoning():
        yield
        return
    previous = os.environ.get(POISON_VARIABLE)
    os.environ[POISON_VARIABLE] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ[POISON_VARIABLE]
        else:
            os.environ[POISON_VARIABLE] = previous


def conv2d_family() -> Family:
    """conv2d_forward / conv2d_input_grad / conv2d_weight_grad (geometry: stride, padding, dilation, groups, direct)."""
    load()
    return _state["conv2d"]


def group_family() -> Family:
    """group_conv_forward / _input_grad / _weight_grad (geometry: order, stride, padding[, direct])."""
    load()
    return _state["group"]


def _register_python_parts():
    # One operator per pass, dispatched by device (CPU here, CUDA where it is built); the derivatives
    # of every pass are passes of the same family (kernels/operators.py).
    ops = torch.ops.conv_circuits
    _state["conv2d"] = Family(ops.conv2d_forward, ops.conv2d_input_grad, ops.conv2d_weight_grad, groups_index=3,
                              kernel_context=poison_outputs_if_asked)
    _state["group"] = Family(ops.group_conv_forward, ops.group_conv_input_grad, ops.group_conv_weight_grad,
                             groups_index=None, kernel_context=poison_outputs_if_asked)
    register(_state["conv2d"])
    register(_state["group"])
