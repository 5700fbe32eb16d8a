"""`course doctor`: the Triton canary runs in the interpreter and wrong numbers are caught."""
import json
import subprocess

from course.runtime import doctor


def test_canary_kernels_compute_the_right_numbers():
    ok, text = doctor.triton_canary()
    assert ok, text


def test_doctor_reports_wrong_interpreter_results(monkeypatch):
    fake = subprocess.CompletedProcess([], 0, stdout=json.dumps({"masked_add": 0.0, "dot": 3.5}), stderr="")
    monkeypatch.setattr(doctor.subprocess, "run", lambda *a, **k: fake)
    ok, text = doctor.triton_canary()
    assert not ok and "WRONG" in text and "dot" in text


def test_doctor_reports_nan_as_wrong(monkeypatch):
    fake = subprocess.CompletedProcess([], 0, stdout=json.dumps({"masked_add": float("nan"), "dot": 0.0}), stderr="")
    monkeypatch.setattr(doctor.subprocess, "run", lambda *a, **k: fake)
    assert not doctor.triton_canary()[0]


def test_doctor_exits_0_when_required_parts_work(capsys):
    assert doctor.doctor() == 0
    out = capsys.readouterr().out
    for name in ("python", "torch", "numpy", "matplotlib", "triton canary", "c++ compiler", "ninja", "cuda"):
        assert name in out
