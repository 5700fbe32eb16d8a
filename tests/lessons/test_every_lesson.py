"""Every written lesson keeps the lesson contract: its checks hold, its figures and summary.json are written."""
import json

import pytest

from course.runtime.syllabus import SYLLABUS

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("entry", [e for e in SYLLABUS if e.present], ids=lambda e: e.stem)
def test_checks_hold_and_figures_and_summary_are_written(entry, fast_run):
    summary, out = fast_run(entry.stem)
    failed = {key: check for key, check in summary["checks"].items() if not check["ok"]}
    assert summary["checks"] and not failed
    assert summary["figures"] and all((out / name).read_bytes()[:8] == PNG_MAGIC for name in summary["figures"])
    assert json.loads((out / "summary.json").read_text())["lesson"] == entry.stem
