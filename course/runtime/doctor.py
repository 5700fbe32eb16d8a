"""`python -m course doctor`: what this machine has, and whether the parts the course needs work.

Required (exit status 1 if one fails): Python, torch, numpy, matplotlib, and a Triton
kernel computing the right numbers in the interpreter. Optional (reported, never fatal):
a C++ compiler and ninja (the cpp backend), CUDA and nvcc (the cuda backend).
"""
from __future__ import annotations

import importlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CANARY_TOLERANCE = 1e-4  # float32 dot of length 16 (tl.dot may use tf32-like rounding on GPUs)


def version_of(module_name: str) -> tuple[bool, str]:
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # a broken install shows up as any exception, not only ImportError
        return False, f"not importable: {type(error).__name__}: {error}"
    return True, getattr(module, "__version__", "unknown version")


def cpp_compiler() -> tuple[bool, str]:
    """Compile and run a one-line C++ program with the compiler torch's extensions would use."""
    compiler = os.environ.get("CXX", "c++")
    if shutil.which(compiler) is None:
        return False, f"no C++ compiler ({compiler!r} not on PATH): the cpp backend is unavailable"
    with tempfile.TemporaryDirectory() as folder:
        source, binary = Path(folder) / "probe.cpp", Path(folder) / "probe"
        source.write_text("#include <cstdio>\nint main() { std::printf(\"%d\", 6 * 7); }\n")
        built = subprocess.run([compiler, "-std=c++17", str(source), "-o", str(binary)], capture_output=True, text=True)
        if built.returncode != 0:
            return False, f"{compiler} cannot compile C++17: {built.stderr.strip()[:200]}"
        ran = subprocess.run([str(binary)], capture_output=True, text=True)
        if ran.stdout != "42":
            return False, f"{compiler} built a program that printed {ran.stdout!r} instead of 42"
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    return True, version


def ninja() -> tuple[bool, str]:
    path = shutil.which("ninja")
    if path is None:
        return False, "ninja not on PATH (pip install ninja, and activate the virtualenv)"
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.strip()
    return True, f"{version} ({path})"


def cuda() -> tuple[bool, str]:
    import torch

    nvcc = shutil.which("nvcc")
    nvcc_text = "nvcc found" if nvcc else "no nvcc"
    if not torch.cuda.is_available():
        build = f"torch built with CUDA {torch.version.cuda}" if torch.version.cuda else "CPU-only torch build"
        return False, f"no usable GPU ({build}; {nvcc_text})"
    return True, f"{torch.cuda.get_device_name(0)}, CUDA {torch.version.cuda}; {nvcc_text}"


def triton_canary() -> tuple[bool, str]:
    """Run course/runtime/triton_canary.py in a fresh interpreter process and check its numbers."""
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    try:
        done = subprocess.run([sys.executable, "-m", "course.runtime.triton_canary"], capture_output=True,
                              text=True, env=env, timeout=300)
    except subprocess.TimeoutExpired:
        return False, "the canary kernel did not finish within 300 s"
    if done.returncode != 0:
        return False, "the canary kernel failed: " + (done.stderr.strip().splitlines() or ["?"])[-1]
    errors = json.loads(done.stdout.strip().splitlines()[-1])
    wrong = {name: error for name, error in errors.items() if not error <= CANARY_TOLERANCE}
    if wrong:
        return False, f"the interpreter computed WRONG results {wrong} (numpy {version_of('numpy')[1]}): " \
                      "Triton lessons and tests cannot be trusted on this machine"
    return True, "interpreter results correct (" + ", ".join(f"{k} error {v:.1e}" for k, v in errors.items()) + ")"


def course_checkout(cwd: Path | None = None) -> tuple[bool, str]:
    """Which checkout Python imports `course` from; not ok when the current folder is another checkout
    (an editable install of a different copy: edits here would not be the code that runs)."""
    import course
    from course import CHECKOUT_ROOT

    imported = Path(course.__file__).resolve().parent
    text = f"{course.__version__}, imported from {imported}"
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "course" / "__init__.py").is_file() and (folder / "lessons").is_dir():
            if folder != CHECKOUT_ROOT:
                return False, f"{text}, but this folder is another checkout ({folder}): pip install -e {folder}"
            break
    return True, text


def cpp_extension_state() -> tuple[bool, str]:
    """Whether the C++ extension of `kernels` is compiled and current (it compiles on first use)."""
    from kernels import extension

    from course.runtime.cpp_extension import cpp_extension_built

    folder = extension.build_directory()
    if cpp_extension_built():
        return True, f"built, in {folder}"
    return False, "not built yet: it compiles on first use of backend='cpp' (about a minute)"


def build_cpp_extension() -> None:
    """Build the C++ extension now unless it is built; a failure is reported by the c++ extension line."""
    from kernels import extension

    from course.runtime.cpp_extension import cpp_extension_built

    if cpp_extension_built():
        return
    started = time.perf_counter()
    ok, why = extension.status()  # prints the build message while it compiles
    print(f"doctor: the C++ extension {'built' if ok else 'did not build'} in {time.perf_counter() - started:.0f} s")


def doctor(build: bool = False) -> int:
    """Print what works; 1 if a required part fails. build: first build the C++ extension if needed."""
    if build:
        build_cpp_extension()
    required = [("python", (True, f"{platform.python_version()} ({sys.executable})")),
                ("course", course_checkout())]
    required += [(name, version_of(name)) for name in ("torch", "numpy", "matplotlib", "triton")]
    if required[-1][1][0]:
        required.append(("triton canary", triton_canary()))
    optional = [("c++ compiler", cpp_compiler()), ("ninja", ninja()), ("c++ extension", cpp_extension_state())]
    if dict(required)["torch"][0]:
        optional.append(("cuda", cuda()))
    width = max(len(name) for name, _ in required + optional) + 2
    for name, (ok, text) in required:
        print(f"  [{'ok' if ok else 'FAIL':>4}] {name:<{width}}{text}")
    for name, (ok, text) in optional:
        print(f"  [{'ok' if ok else 'no':>4}] {name:<{width}}{text}")
    failed = [name for name, (ok, _) in required if not ok]
    print("doctor: " + (f"problems with {', '.join(failed)}" if failed else "everything the course needs works"))
    return 1 if failed else 0
