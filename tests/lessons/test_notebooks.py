"""Every lesson steps through as a notebook: converted by jupytext, run cell by cell by nbclient
in a fresh kernel (fast mode), with no error, each figure shown inline under the cell that made
it, and something to see under most code cells. The run is the one the lesson tests share."""
import re

import pytest

from course.runtime.syllabus import SYLLABUS

from course.runtime.notebook import missing_tools

pytestmark = [pytest.mark.slow, pytest.mark.skipif(missing_tools() is not None, reason=str(missing_tools()))]
LESSONS = [e for e in SYLLABUS if e.present]


@pytest.mark.parametrize("entry", LESSONS, ids=lambda e: e.stem)
def test_lesson_runs_as_a_notebook_with_its_figures_inline(entry, lesson_runs):
    summary, out, executed = lesson_runs.get(entry.stem)  # fails here if a cell raised
    assert summary["fast"] and summary["checks"] and all(c["ok"] for c in summary["checks"].values())
    cells = executed.code_cells()
    images = executed.inline_images()
    for figure in summary["figures"]:
        saved = (out / figure).read_bytes()
        shown_in = [index for index, png in images if png == saved]
        assert len(shown_in) == 1, f"{figure} is shown inline {len(shown_in)} times (expected once)"
        source = cells[shown_in[0]].source
        assert re.search(r"lesson\.(show|save)\(", source), f"{figure} appears under a cell that shows no figure"
        name = figure.removesuffix(".png")
        named_in = [i for i, cell in enumerate(cells) if f'"{name}"' in cell.source or f"'{name}'" in cell.source]
        assert not named_in or shown_in[0] in named_in, f"{figure} appears under cell {shown_in[0]}, made in {named_in}"
    assert len(images) == len(summary["figures"]), "an image was displayed that the lesson did not save"
    with_output = [cell for cell in cells if cell.get("outputs")]
    assert len(with_output) >= 2 / 3 * len(cells), f"only {len(with_output)} of {len(cells)} code cells show anything"


def test_a_lesson_file_converts_to_one_notebook_cell_per_percent_cell():
    from course.runtime.cells import lesson_cells
    from course.runtime.notebook import lesson_notebook

    entry = LESSONS[0]
    notebook = lesson_notebook(entry.path)
    ours = [(cell.kind, cell.text.strip()) for cell in lesson_cells(entry.path)]
    theirs = [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]
    assert ours == theirs  # course/runtime/cells.py reads the file exactly as jupytext does
    assert notebook.cells[1].metadata.get("tags") == ["parameters"]
