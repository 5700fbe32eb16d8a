"""`course doctor`: the Triton canary runs in the interpreter and wrong numbers are caught."""
import json
import subprocess

from course.runtime import doctor


def test_canary_kernels_compute_the_right_numbers():
    ok, text = doctor.triton_canary()
    assert ok, text


def test_doctor_reports_wrong_interpreter_results(monkeypatch):
    fake = subprocess.CompletedProcess([], 0, stdout=json.dumps({"masked_reverse": 0.0, "dot": 3.5}), stderr="")
    monkeypatch.setattr(doctor.subprocess, "run", lambda *a, **k: fake)
    ok, text = doctor.triton_canary()
    assert not ok and "WRONG" in text and "dot" in text


def test_doctor_reports_nan_as_wrong(monkeypatch):
    fake = subprocess.CompletedProcess([], 0, stdout=json.dumps({"masked_reverse": float("nan"), "dot": 0.0}), stderr="")
    monkeypatch.setattr(doctor.subprocess, "run", lambda *a, **k: fake)
    assert not doctor.triton_canary()[0]


def test_doctor_exits_0_when_required_parts_work(capsys):
    assert doctor.doctor() == 0
    out = capsys.readouterr().out
    for name in ("python", "torch", "numpy", "matplotlib", "triton canary", "c++ compiler", "ninja", "cuda"):
        assert name in out


def test_doctor_names_the_imported_checkout_and_the_cpp_extension(capsys):
    assert doctor.doctor() == 0
    out = capsys.readouterr().out
    from course import CHECKOUT_ROOT

    assert f"imported from {CHECKOUT_ROOT / 'course'}" in out
    assert "c++ extension" in out and ("built, in" in out or "not built yet" in out)


def test_doctor_build_leaves_the_cpp_extension_built(capsys):
    assert doctor.doctor(build=True) == 0
    out = capsys.readouterr().out
    assert "c++ extension" in out and "built, in" in out


def test_doctor_warns_when_the_current_folder_is_another_checkout(tmp_path):
    other = tmp_path / "my-copy"
    (other / "course").mkdir(parents=True)
    (other / "course" / "__init__.py").write_text("")
    (other / "lessons").mkdir()
    ok, text = doctor.course_checkout(cwd=other / "lessons")
    assert not ok and f"this folder is another checkout ({other})" in text and f"pip install -e {other}" in text
    assert doctor.course_checkout(cwd=tmp_path)[0]  # not inside any checkout: nothing to say


def test_the_cpp_extension_state_follows_the_build_cache(monkeypatch):
    import course.runtime.cpp_extension as cpp

    monkeypatch.setattr(cpp, "cpp_extension_built", lambda: False)
    assert doctor.cpp_extension_state() == (False, "not built yet: it compiles on first use of backend='cpp' (about a minute)")
    monkeypatch.setattr(cpp, "cpp_extension_built", lambda: True)
    assert doctor.cpp_extension_state()[1].startswith("built, in ")
