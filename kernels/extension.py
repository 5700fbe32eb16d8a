"""Build the C++ (and, where torch has CUDA, the CUDA) conv2d and group-convolution extension on first use.

``load()`` compiles ``kernels/csrc`` with ninja through ``torch.utils.cpp_extension`` the
first time it is called on a machine, caches the shared library, and registers the
operators ``torch.ops.conv_circuits.*`` together with their fake (meta) implementations and
autograd formulas. Later calls, in this process or the next, reuse the cached build.

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


def build_directory() -> Path:
    """Where the compiled library is cached."""
    if os.environ.get("CONV_CIRCUITS_BUILD_DIR"):
        return Path(os.environ["CONV_CIRCUITS_BUILD_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    tag = f"torch{torch.__version__.replace('+', '_')}-{_cpu_fingerprint()}"
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
# Fake (meta) implementations and autograd, registered once after the library loads.
# ---------------------------------------------------------------------------------------

def _output_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _fake_forward(input, weight, bias, stride, padding, dilation, groups, direct=False):
    n, _, h, w = input.shape
    k, _, r, s = weight.shape
    p = _output_size(h, r, stride[0], padding[0], dilation[0])
    q = _output_size(w, s, stride[1], padding[1], dilation[1])
    return input.new_empty((n, k, p, q))


def _fake_input_grad(grad_output, weight, input_size, stride, padding, dilation, groups, direct=False):
    return grad_output.new_empty(tuple(input_size))


def _fake_weight_grad(grad_output, input, weight_size, stride, padding, dilation, groups, direct=False):
    return grad_output.new_empty(tuple(weight_size)), grad_output.new_empty((weight_size[0],))


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


def _setup_context(ctx, inputs, output):
    input, weight, bias, stride, padding, dilation, groups, direct = inputs
    ctx.save_for_backward(input, weight)
    ctx.geometry = (list(stride), list(padding), list(dilation), groups, direct)
    ctx.has_bias = bias is not None


def _backward(ctx, grad_output):
    input, weight = ctx.saved_tensors
    stride, padding, dilation, groups, direct = ctx.geometry
    with poison_outputs_if_asked():
        return _gradients(ctx, grad_output, input, weight, stride, padding, dilation, groups, direct)


def _gradients(ctx, grad_output, input, weight, stride, padding, dilation, groups, direct):
    ops = torch.ops.conv_circuits
    grad_input = grad_weight = grad_bias = None
    if ctx.needs_input_grad[0]:
        grad_input = ops.conv2d_input_grad(grad_output, weight, list(input.shape), stride, padding, dilation,
                                           groups, direct)
    if ctx.needs_input_grad[1] or (ctx.has_bias and ctx.needs_input_grad[2]):
        grad_weight, grad_bias = ops.conv2d_weight_grad(grad_output, input, list(weight.shape), stride, padding,
                                                        dilation, groups, direct)
    if not ctx.has_bias:
        grad_bias = None
    return grad_input, grad_weight, grad_bias, None, None, None, None, None


# --- the group convolutions (csrc/group_conv_ops.cpp) -----------------------------------------------
# The weight's rank says which operation: 4 lifting, 5 group convolution; output (N, Cout, G, P, Q).


def _fake_group_forward(input, weight, bias, order, stride, padding):
    k = weight.shape[-1]
    p = _output_size(input.shape[-2], k, stride[0], padding[0], 1)
    q = _output_size(input.shape[-1], k, stride[1], padding[1], 1)
    return input.new_empty((input.shape[0], weight.shape[0], order, p, q))


def _fake_group_input_grad(grad_output, weight, input_size, order, stride, padding):
    return grad_output.new_empty(tuple(input_size))


def _fake_group_weight_grad(grad_output, input, weight_size, order, stride, padding):
    return grad_output.new_empty(tuple(weight_size)), grad_output.new_empty((weight_size[0],))


def _group_setup_context(ctx, inputs, output):
    input, weight, bias, order, stride, padding = inputs
    ctx.save_for_backward(input, weight)
    ctx.geometry = (order, list(stride), list(padding))
    ctx.has_bias = bias is not None


def _group_backward(ctx, grad_output):
    input, weight = ctx.saved_tensors
    order, stride, padding = ctx.geometry
    ops = torch.ops.conv_circuits
    grad_input = grad_weight = grad_bias = None
    with poison_outputs_if_asked():
        if ctx.needs_input_grad[0]:
            grad_input = ops.group_conv_input_grad(grad_output, weight, list(input.shape), order, stride, padding)
        if ctx.needs_input_grad[1] or (ctx.has_bias and ctx.needs_input_grad[2]):
            grad_weight, grad_bias = ops.group_conv_weight_grad(grad_output, input, list(weight.shape), order, stride,
                                                                padding)
    if not ctx.has_bias:
        grad_bias = None
    return grad_input, grad_weight, grad_bias, None, None, None


def _register_python_parts():
    torch.library.register_fake("conv_circuits::group_conv_forward")(_fake_group_forward)
    torch.library.register_fake("conv_circuits::group_conv_input_grad")(_fake_group_input_grad)
    torch.library.register_fake("conv_circuits::group_conv_weight_grad")(_fake_group_weight_grad)
    torch.library.register_autograd("conv_circuits::group_conv_forward", _group_backward,
                                    setup_context=_group_setup_context)
    torch.library.register_fake("conv_circuits::conv2d_forward")(_fake_forward)
    torch.library.register_fake("conv_circuits::conv2d_input_grad")(_fake_input_grad)
    torch.library.register_fake("conv_circuits::conv2d_weight_grad")(_fake_weight_grad)
    torch.library.register_autograd("conv_circuits::conv2d_forward", _backward, setup_context=_setup_context)
