"""The lesson runtime: a cell-format file runs top to bottom through the runner, with its options,
sections, captions, tool checks apart from claim checks, and a claims ledger whose evidence exists."""
import json
import textwrap

import pytest

from course.__main__ import main
from course.runtime import syllabus
from course.runtime.lesson import Lesson, LessonDidNotFinish, check_tally, lesson_options, run_lesson, run_total

FAKE = textwrap.dedent('''\
    # %% [markdown]
    # # 01 · A fake lesson

    # %% tags=["parameters"]
    fast = False

    # %%
    import matplotlib.pyplot as plt
    from course.runtime.lesson import Lesson

    lesson = Lesson.start("01_folding_space", fast=fast)

    # %% [markdown]
    # ## A first idea
    # One line is drawn here. More prose follows.

    # %%
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, lesson.seed])
    lesson.show(fig, "line")
    lesson.report("identity", 0.0, "true by construction", bound=1e-9, kind="tool")
    lesson.report("size", 3 if lesson.fast else 30, "how big the run is")

    # %% [markdown]
    # ## A second idea
    # A measured effect.

    # %%
    lesson.report("effect", 0.8, "the phenomenon", at_least=0.5)
    lesson.claim("effect_exists", source="a seed, §one", claim="the effect is there", status="reproduced",
                 evidence=["effect"])
    summary = lesson.finish()
    ''')


@pytest.fixture
def fake_lesson(tmp_path, monkeypatch):
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "01_folding_space.py").write_text(FAKE)
    monkeypatch.setattr(syllabus, "LESSONS_DIR", folder)
    monkeypatch.delenv("COURSE_FAST", raising=False)
    monkeypatch.delenv("COURSE_OUT", raising=False)
    return syllabus.find_lesson("01")


def test_the_runner_runs_the_file_top_to_bottom_with_its_options(fake_lesson, tmp_path, capsys):
    summary = run_lesson(fake_lesson, fast=True, out=tmp_path / "out", seed=3)
    assert summary["fast"] and summary["seed"] == 3 and summary["size"] == 3
    assert summary == json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["checks"]["identity"]["kind"] == "tool" and summary["checks"]["effect"]["kind"] == "claim"
    assert [s["title"] for s in summary["sections"]] == ["A first idea", "A second idea"]
    assert summary["sections"][0]["figures"] == [{"file": "line.png", "caption": "One line is drawn here."}]
    assert summary["claims"] == [{"id": "effect_exists", "source": "a seed, §one", "claim": "the effect is there",
                                  "status": "reproduced", "evidence": ["effect"], "note": ""}]
    out = capsys.readouterr().out
    assert "1/1 tool checks hold, 1/1 claim checks hold; claims: 1 reproduced, 0 partial" in out
    assert "[reproduced] effect_exists: the effect is there" in out


def test_course_fast_and_course_out_reach_a_lesson_started_without_a_runner(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.setenv("COURSE_OUT", str(tmp_path))
    lesson = Lesson.start("04_convolution")
    assert lesson.fast and lesson.out == tmp_path / "04_convolution" and lesson.title == "Convolution and cross-correlation"


def test_runner_options_beat_the_files_own_arguments(tmp_path):
    with lesson_options(fast=False, out=tmp_path, seed=5):
        lesson = Lesson.start("04_convolution", fast=True, seed=1)
    assert not lesson.fast and lesson.seed == 5 and lesson.out == tmp_path


def test_bad_kinds_statuses_and_missing_evidence_are_refused(tmp_path):
    with lesson_options(out=tmp_path):
        lesson = Lesson.start("04_convolution")
    with pytest.raises(ValueError, match="kind must be one of"):
        lesson.report("x", 1.0, "m", bound=2, kind="proof")
    with pytest.raises(ValueError, match="status must be one of"):
        lesson.claim("c", source="s", claim="c", status="kind of", evidence=[])
    lesson.claim("c", source="s", claim="c", status="partial", evidence=["not_reported"])
    with pytest.raises(ValueError, match="evidence missing from the summary: {'c': \\['not_reported'\\]}"):
        lesson.finish()


def test_a_claim_whose_evidence_check_fails_is_recorded_as_not_reproduced(tmp_path):
    with lesson_options(out=tmp_path):
        lesson = Lesson.start("04_convolution")
    lesson.report("error", 0.5, "an error", bound=0.1)  # fails
    lesson.report("accuracy", 0.9, "an accuracy", at_least=0.8)  # holds
    lesson.claim("held", source="s", claim="c", status="reproduced", evidence=["accuracy"])
    lesson.claim("broken", source="s", claim="c", status="reproduced", evidence=["accuracy", "error"], note="n")
    claims = {c["id"]: c for c in lesson.finish()["claims"]}
    assert claims["held"]["status"] == "reproduced"
    assert claims["broken"]["status"] == "not reproduced"
    assert claims["broken"]["note"] == "n; stated reproduced, but in this run the check error failed"


def test_a_lesson_that_never_finishes_is_an_error(fake_lesson, tmp_path):
    fake_lesson.path.write_text(FAKE.replace("summary = lesson.finish()", ""))
    with pytest.raises(LessonDidNotFinish, match="ended without calling lesson.finish"):
        run_lesson(fake_lesson, out=tmp_path)


def test_run_all_prints_the_total_line(fake_lesson, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(syllabus, "SYLLABUS", [fake_lesson])
    assert main(["run", "all", "--fast", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == \
        "1 lessons, 2/2 checks hold, claims: 1 reproduced, 0 partial, 0 constructed only, 0 not reproduced"


def test_run_total_and_tallies_count_kinds_and_statuses():
    checks = {"a": {"ok": True, "kind": "tool"}, "b": {"ok": False, "kind": "claim"}, "c": {"ok": True}}
    assert check_tally(checks) == "1/1 tool checks hold, 1/2 claim checks hold"
    summaries = [{"checks": checks, "claims": [{"status": "partial"}]}, {"checks": {}, "claims": []}]
    assert run_total(summaries) == "2 lessons, 2/3 checks hold, claims: 0 reproduced, 1 partial, 0 constructed only, " \
                                   "0 not reproduced"


def test_an_unwritable_default_folder_is_named_in_one_line_without_mentioning_out(fake_lesson, tmp_path,
                                                                                 monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "figures").write_text("a file where the folder should be")
    assert main(["run", "01", "--fast"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot write the folder figures/01_folding_space/") and "--out DIR" in err
    assert "--out figures" not in err and len(err.splitlines()) == 1
