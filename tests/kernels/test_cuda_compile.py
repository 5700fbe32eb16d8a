"""Every CUDA source compiles with `nvcc -c`, on any machine with the CUDA toolkit.

The .cu files include only CUDA headers and this project's plain headers (DESIGN.md, "Build
and platform facts"), so this checks them where no GPU and no CUDA torch exist. Running them
is the conformance suite's job, on a machine with a GPU.
"""
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kernels import cuda_backend

CUDA_DIR = Path(__file__).resolve().parents[2] / "kernels" / "csrc" / "cuda"
CU_FILES = sorted(CUDA_DIR.glob("*.cu"))
NVCC = shutil.which("nvcc")

pytestmark = pytest.mark.skipif(NVCC is None, reason="nvcc not found: install the CUDA toolkit to compile the .cu files")


def compile_cu(source: Path, out_dir: Path) -> subprocess.CompletedProcess:
    command = [NVCC, "-c", str(source), "-o", str(out_dir / f"{source.stem}.o"), "-std=c++17", "-O1",
               f"-I{CUDA_DIR.parent}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_there_are_cuda_sources():
    assert {p.name for p in CU_FILES} >= {"conv2d_forward.cu", "conv2d_input_grad.cu", "conv2d_weight_grad.cu"}


@pytest.mark.slow
def test_every_cu_file_compiles_with_nvcc(tmp_path):
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(CU_FILES, pool.map(lambda p: compile_cu(p, tmp_path), CU_FILES)))
    failures = {p.name: r.stderr[-2000:] for p, r in results.items() if r.returncode != 0}
    assert not failures, failures
    for source in CU_FILES:
        assert (tmp_path / f"{source.stem}.o").stat().st_size > 0


def test_cuda_sources_include_no_torch_headers():
    for source in [*CU_FILES, *CUDA_DIR.glob("*.cuh"), CUDA_DIR / "conv2d_cuda.h"]:
        text = source.read_text()
        assert "torch/" not in text and "ATen/" not in text and "c10/" not in text, source.name


def test_cuda_backend_says_why_it_is_unavailable():
    ok, reason = cuda_backend.available()
    if not ok:
        assert reason in ("torch built without CUDA", "no GPU") or reason.startswith("no nvcc"), reason
