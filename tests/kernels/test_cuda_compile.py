"""Every CUDA source compiles with `nvcc -c`, on any machine with the CUDA toolkit.

The .cu files include only CUDA headers and this project's plain headers (DESIGN.md, "Build
and platform facts"), so this checks them where no GPU and no CUDA torch exist: the conv2d kernels
and the fused group convolutions (group_conv_*.cu) alike. Running them is the conformance suites'
job (tests/kernels/test_conformance.py, tests/kernels/test_group_backends.py), on a machine with a GPU.
"""
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kernels import cuda_backend, cuda_group

CUDA_DIR = Path(__file__).resolve().parents[2] / "kernels" / "csrc" / "cuda"
CU_FILES = sorted(CUDA_DIR.glob("*.cu"))
NVCC = shutil.which("nvcc")

pytestmark = pytest.mark.skipif(NVCC is None, reason="nvcc not found: install the CUDA toolkit to compile the .cu files")


def compile_cu(source: Path, out_dir: Path) -> subprocess.CompletedProcess:
    command = [NVCC, "-c", str(source), "-o", str(out_dir / f"{source.stem}.o"), "-std=c++17", "-O1",
               f"-I{CUDA_DIR.parent}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_there_are_cuda_sources():
    assert {p.name for p in CU_FILES} >= {
        "conv2d_forward.cu", "conv2d_input_grad.cu", "conv2d_weight_grad.cu",
        "group_conv_forward.cu", "group_conv_input_grad.cu", "group_conv_weight_grad.cu",
    }


@pytest.mark.slow
def test_every_cu_file_compiles_with_nvcc(tmp_path):
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(CU_FILES, pool.map(lambda p: compile_cu(p, tmp_path), CU_FILES)))
    failures = {p.name: r.stderr[-2000:] for p, r in results.items() if r.returncode != 0}
    assert not failures, failures
    for source in CU_FILES:
        assert (tmp_path / f"{source.stem}.o").stat().st_size > 0


def test_cuda_sources_include_no_torch_headers():
    plain_headers = [CUDA_DIR / "conv2d_cuda.h", CUDA_DIR / "group_conv_cuda.h",
                     CUDA_DIR.parent / "conv2d_geometry.h", CUDA_DIR.parent / "group_conv_geometry.h"]
    for source in [*CU_FILES, *CUDA_DIR.glob("*.cuh"), *plain_headers]:
        text = source.read_text()
        assert "torch/" not in text and "ATen/" not in text and "c10/" not in text, source.name


@pytest.mark.parametrize("backend", [cuda_backend, cuda_group], ids=["conv2d", "group"])
def test_cuda_backend_says_why_it_is_unavailable(backend):
    ok, reason = backend.available()
    if not ok:
        assert reason in ("torch built without CUDA", "no GPU") or reason.startswith("no nvcc"), reason
