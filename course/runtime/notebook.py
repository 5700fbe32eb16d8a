"""A lesson as a Jupyter notebook: converted by jupytext, executed by nbclient in a fresh kernel.

`python -m course notebook 04 [--out DIR]` writes `04_convolution.ipynb` for students who
prefer a notebook file (VS Code and Jupyter with jupytext open the `.py` directly). The tests
execute every lesson this way, in fast mode, and check that each figure appears inline under
the cell that made it.

jupytext and nbclient are development dependencies (requirements-dev.txt): a lesson itself
runs without them.
"""
from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

DEV_REQUIREMENTS = "pip install -r requirements-dev.txt"


class NotebookToolsMissing(RuntimeError):
    """jupytext or nbclient is not installed."""


def missing_tools() -> str | None:
    """None when jupytext, nbclient and ipykernel are installed, else what to do about it."""
    import importlib.util

    missing = [name for name in ("jupytext", "nbclient", "ipykernel") if importlib.util.find_spec(name) is None]
    return f"{', '.join(missing)} not installed: {DEV_REQUIREMENTS}" if missing else None


def _missing(name: str) -> NotebookToolsMissing:
    return NotebookToolsMissing(f"{name} is not installed: {DEV_REQUIREMENTS}")


def lesson_notebook(path: Path):
    """The lesson file as an nbformat notebook (jupytext's reading of the percent format)."""
    try:
        import jupytext
    except ImportError:
        raise _missing("jupytext") from None
    notebook = jupytext.read(path)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def write_notebook(path: Path, folder: Path) -> Path:
    """Write <folder>/<lesson stem>.ipynb and return its path."""
    try:
        import nbformat
    except ImportError:
        raise _missing("nbformat") from None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{path.stem}.ipynb"
    nbformat.write(lesson_notebook(path), target)
    return target


@dataclass
class ExecutedNotebook:
    notebook: object  # the nbformat notebook with its outputs
    error: str | None  # one paragraph: the failing cell's first line and the exception, or None

    def code_cells(self) -> list:
        return [cell for cell in self.notebook.cells if cell.cell_type == "code"]

    def inline_images(self) -> list[tuple[int, bytes]]:
        """(code cell index, PNG bytes) of every image displayed, in order."""
        found = []
        for index, cell in enumerate(self.code_cells()):
            for output in cell.get("outputs", []):
                if output.get("output_type") in ("display_data", "execute_result") and "image/png" in output.get("data", {}):
                    found.append((index, base64.b64decode(output["data"]["image/png"])))
        return found


def execute_notebook(notebook, *, cwd: Path, env: dict | None = None, timeout: int = 600) -> ExecutedNotebook:
    """Run every cell in a fresh python3 kernel started in `cwd`, with `env` added to the environment.

    Stops at the first error, as Jupyter's "Run all" does; the error comes back as text.
    """
    try:
        import nbclient
        from nbclient.exceptions import CellExecutionError
    except ImportError:
        raise _missing("nbclient") from None

    client = nbclient.NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute(env={**os.environ, **(env or {})})
    except CellExecutionError as error:
        return ExecutedNotebook(notebook, _short_error(error))
    return ExecutedNotebook(notebook, None)


def _short_error(error) -> str:
    lines = [line for line in str(error).splitlines() if line.strip()]
    source = next((line for line in lines if not line.startswith(("-", "An error occurred"))), "")
    return f"cell starting {source!r} raised {error.ename}: {error.evalue}"
