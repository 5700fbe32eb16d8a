"""A lesson file's cells, read the way jupytext reads the "percent" format.

A lesson is a sequence of cells, each opened by a line `# %%` (code) or `# %% [markdown]`
(prose, every line commented). Its sections are its `## ` headings. The runtime uses this
to know, for a line of the file, which section it is in and which prose comes just before
it (a figure's default caption); the presenter and the gallery use the same reading.
No jupytext needed: the format is simple enough to read here, and lessons run without it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CELL_MARKER = re.compile(r"^# %%(?P<rest>.*)$")


@dataclass(frozen=True)
class Cell:
    kind: str  # "code" or "markdown"
    text: str  # the source; for markdown the prose with its "# " taken off
    first_line: int  # 1-based line of the file where the cell's body starts
    last_line: int
    section: str  # the `## ` heading current at this cell ("" before the first one)

    @property
    def heading(self) -> str | None:
        """The cell's `## ` heading, if it is a markdown cell that opens a section."""
        if self.kind == "markdown":
            for line in self.text.splitlines():
                if line.startswith("## "):
                    return line[3:].strip()
        return None

    @property
    def prose(self) -> str:
        """A markdown cell's text without its heading lines."""
        return "\n".join(line for line in self.text.splitlines() if not line.startswith("#")).strip()


def _uncomment(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    return "" if line.strip() == "#" else line


def parse_cells(text: str) -> list[Cell]:
    """Split a percent-format file into cells, each knowing its section."""
    cells, section = [], ""
    kind, body, first = "code", [], 1

    def close(end_line):
        nonlocal section
        while body and not body[-1].strip():
            body.pop()
        if not body:
            return
        text = "\n".join(_uncomment(line) for line in body) if kind == "markdown" else "\n".join(body)
        section = Cell(kind, text, first, end_line, section).heading or section  # a heading opens its section
        cells.append(Cell(kind, text, first, end_line, section))

    for number, line in enumerate(text.splitlines(), start=1):
        marker = CELL_MARKER.match(line)
        if marker:
            close(number - 1)
            kind = "markdown" if "[markdown]" in marker["rest"] else "code"
            body, first = [], number + 1
        else:
            body.append(line)
    close(len(text.splitlines()))
    return cells


@lru_cache(maxsize=32)
def _cells_of(path: str, mtime: float) -> tuple[Cell, ...]:
    return tuple(parse_cells(Path(path).read_text()))


def lesson_cells(path: Path | str) -> list[Cell]:
    """The cells of a lesson file (read once per version of the file)."""
    path = Path(path)
    return list(_cells_of(str(path), path.stat().st_mtime))


def cell_at(cells: list[Cell], line: int) -> Cell | None:
    """The cell holding this line of the file."""
    for cell in cells:
        if cell.first_line <= line <= cell.last_line:
            return cell
    return None


def prose_before(cells: list[Cell], cell: Cell) -> str:
    """The prose of the markdown cell just above a code cell ('' when none)."""
    index = cells.index(cell)
    if index > 0 and cells[index - 1].kind == "markdown":
        return cells[index - 1].prose
    return ""


def first_sentence(text: str) -> str:
    """The first sentence of a paragraph, on one line."""
    flat = " ".join(text.split())
    match = re.search(r"^(.+?[.!?])(\s|$)", flat)
    return match.group(1) if match else flat


def lesson_title_of(cells: list[Cell]) -> str | None:
    """The `# ` title of the first markdown cell, without its number ("04 · ")."""
    for cell in cells:
        if cell.kind == "markdown":
            for line in cell.text.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
            return None
    return None
