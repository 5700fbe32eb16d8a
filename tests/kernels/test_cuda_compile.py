"""Every CUDA source compiles with nvcc for sm_80 (A100) and sm_90 (H100), and no kernel spills.

The .cu files include only CUDA headers and this project's plain headers (DESIGN.md, "Build and
platform facts"), so this checks them where no GPU and no CUDA torch exist: the conv2d kernels and
the fused group convolutions (group_conv_*.cu) alike. nvcc runs with `-Xptxas -v`, and ptxas's report
is read per kernel and target: registers, shared memory, and the bytes spilled to local memory, which
must be zero (every kernel here is a hot loop: one tiled matrix product, or the bias reduction).
Running the kernels is the conformance suites' job (tests/kernels/test_conformance.py,
tests/kernels/test_group_backends.py), on a machine with a GPU (`python -m kernels.gpu_check`).
"""
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kernels import cuda_backend, cuda_group

CUDA_DIR = Path(__file__).resolve().parents[2] / "kernels" / "csrc" / "cuda"
CU_FILES = sorted(CUDA_DIR.glob("*.cu"))
NVCC = shutil.which("nvcc")
ARCHITECTURES = ("80", "90")

needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc not found: install the CUDA toolkit to compile the .cu files")


def compile_cu(source: Path, out_dir: Path) -> subprocess.CompletedProcess:
    targets = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in ARCHITECTURES]
    command = [NVCC, "-c", str(source), "-o", str(out_dir / f"{source.stem}.o"), "-std=c++17", "-O3",
               f"-I{CUDA_DIR.parent}", *targets, "-Xptxas", "-v"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def kernel_reports(ptxas_log: str) -> list[dict]:
    """One dict per (function, target) in `nvcc -Xptxas -v` output: name, target, registers, smem, spill bytes."""
    reports, current = [], None
    for line in ptxas_log.splitlines():
        if match := re.search(r"Compiling entry function '(\S+)' for '(sm_\d+)'", line):
            current = {"name": match.group(1), "target": match.group(2), "spill_bytes": None, "registers": None,
                       "smem": 0}
            reports.append(current)
        elif current and (match := re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", line)):
            current["spill_bytes"] = int(match.group(1)) + int(match.group(2))
        elif current and (match := re.search(r"Used (\d+) registers", line)):
            current["registers"] = int(match.group(1))
            if smem := re.search(r"(\d+) bytes smem", line):
                current["smem"] = int(smem.group(1))
    return reports


def readable(name: str) -> str:
    """The kernel's C++ name, shortened: the Problem it runs and its dtype."""
    if shutil.which("c++filt"):
        name = subprocess.run(["c++filt", name], capture_output=True, text=True).stdout.strip() or name
    return name.replace("conv_circuits_cuda::", "").replace("__nv_bfloat16", "bf16").replace("__half", "f16")


def test_there_are_cuda_sources():
    assert {p.name for p in CU_FILES} >= {
        "conv2d_forward.cu", "conv2d_input_grad.cu", "conv2d_weight_grad.cu",
        "group_conv_forward.cu", "group_conv_input_grad.cu", "group_conv_weight_grad.cu",
    }


def test_ptxas_report_parser_reads_spills_and_registers():
    log = """ptxas info    : Compiling entry function '_Z1kv' for 'sm_80'
ptxas info    : Function properties for _Z1kv
    16 bytes stack frame, 8 bytes spill stores, 4 bytes spill loads
ptxas info    : Used 255 registers, used 1 barriers, 8320 bytes smem
"""
    assert kernel_reports(log) == [{"name": "_Z1kv", "target": "sm_80", "spill_bytes": 12, "registers": 255,
                                    "smem": 8320}]


@needs_nvcc
@pytest.mark.slow
def test_every_cu_file_compiles_for_sm80_and_sm90_without_spills(tmp_path, capsys):
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(CU_FILES, pool.map(lambda p: compile_cu(p, tmp_path), CU_FILES)))
    failures = {p.name: r.stderr[-2000:] for p, r in results.items() if r.returncode != 0}
    assert not failures, failures
    rows = []
    for source, result in results.items():
        assert (tmp_path / f"{source.stem}.o").stat().st_size > 0
        reports = kernel_reports(result.stdout + result.stderr)
        assert {r["target"] for r in reports} == {f"sm_{a}" for a in ARCHITECTURES}, source.name
        rows += [(source.name, r) for r in reports]
    with capsys.disabled():  # the resource table belongs in the CI log
        print("\n" + "\n".join(f"{name:<26} {r['target']}  {r['registers']:>3} registers  {r['smem']:>6} B smem  "
                               f"{r['spill_bytes']} B spilled  {readable(r['name'])[:90]}" for name, r in rows))
    spilling = [(name, r["target"], readable(r["name"]), r["spill_bytes"]) for name, r in rows if r["spill_bytes"]]
    assert not spilling, f"kernels that spill registers to local memory: {spilling}"
    assert all(r["registers"] is not None and r["spill_bytes"] is not None for _, r in rows)


def test_cuda_sources_include_no_torch_headers():
    plain_headers = [CUDA_DIR / "conv2d_cuda.h", CUDA_DIR / "group_conv_cuda.h", CUDA_DIR.parent / "conv2d_geometry.h",
                     CUDA_DIR.parent / "group_conv_geometry.h", CUDA_DIR.parent / "group_tables.h"]
    for source in [*CU_FILES, *CUDA_DIR.glob("*.cuh"), *plain_headers]:
        text = source.read_text()
        assert "torch/" not in text and "ATen/" not in text and "c10/" not in text, source.name


@pytest.mark.parametrize("backend", [cuda_backend, cuda_group], ids=["conv2d", "group"])
def test_cuda_backend_says_why_it_is_unavailable(backend):
    ok, reason = backend.available()
    if not ok:
        assert reason in ("torch built without CUDA", "no GPU") or reason.startswith("no nvcc"), reason
