"""What every lesson shares: its options, its output folder, its figures and its checked numbers.

A lesson file runs top to bottom, as a script, through `python -m course run`, or cell by
cell in a Jupyter kernel. Its first code cell says `lesson = Lesson.start("04_convolution",
fast=fast)`; each idea then shows its figure with `lesson.show(fig, name)` and states its
numbers with `lesson.report(...)`; `lesson.claim(...)` records what a source text claims and
whether the lesson's numbers reproduce it; `lesson.finish()` writes `summary.json`.

A number reported with a bound is a *check*: the summary records whether it held, and
`python -m course run` fails when one does not. A check of kind "tool" is true by
construction (an implementation against torch, a planted weight recovered); a check of
kind "claim" tests the phenomenon itself. They are counted apart.

Where the options come from, strongest first:
1. the runner (`python -m course run 04 --fast`), through `lesson_options(...)`;
2. the command line, when the file runs as a script (`python lessons/04_convolution.py --fast`);
3. the arguments of `Lesson.start` (the notebook's parameters cell, `fast = True`), and the
   environment: `COURSE_FAST=1` turns fast mode on, `COURSE_OUT=DIR` puts the output of
   lesson NN_slug in DIR/NN_slug/ instead of figures/NN_slug/.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import runpy
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from course.runtime.style import apply_course_style

FIGURE_DPI = 120
CHECK_KINDS = ("claim", "tool")
CLAIM_STATUSES = ("reproduced", "partial", "constructed only", "not reproduced")


# --- options ---------------------------------------------------------------------------------

@dataclass
class LessonOptions:
    """What a runner asks of the lesson it runs; `None` leaves the lesson's own choice."""
    fast: bool | None = None
    out: Path | None = None
    seed: int | None = None
    show: bool | None = None
    source: Path | None = None  # the lesson file (to find sections and captions)
    viewer: object = None  # viewer.step(lesson) after each figure and number, viewer.finish(lesson) at the end
    summary: dict | None = None  # set by Lesson.finish()


_active: list[LessonOptions] = []


@contextlib.contextmanager
def lesson_options(**options):
    """Run a lesson file with these options: `with lesson_options(fast=True) as run: runpy...`;
    afterwards `run.summary` is what the lesson's `finish()` returned (None if it never did)."""
    run = LessonOptions(**options)
    _active.append(run)
    try:
        yield run
    finally:
        _active.remove(run)


class LessonDidNotFinish(RuntimeError):
    """The lesson file ran to its end without calling lesson.finish()."""


def run_lesson(entry, *, fast: bool = False, out: Path | None = None, seed: int = 0,
               show: bool = False, viewer=None) -> dict:
    """Run the lesson file top to bottom (as `python lessons/NN_slug.py` would) and return its summary.

    The options reach `Lesson.start` through `lesson_options`; `out` defaults to figures/NN_slug/.
    """
    # Without a GPU, Triton must be put in interpreter mode before anything imports it;
    # `import kernels` does that, so lessons run in one process (`run all`) in any order.
    import kernels  # noqa: F401

    with lesson_options(fast=fast, out=out, seed=seed, show=show, source=entry.path, viewer=viewer) as run:
        runpy.run_path(str(entry.path), run_name="__main__")
    if run.summary is None:
        raise LessonDidNotFinish(f"lesson {entry.stem} ended without calling lesson.finish()")
    return run.summary


def lesson_parser(name: str, title: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python lessons/{name}.py", description=title)
    parser.add_argument("--fast", action="store_true", help="small sizes for CI and quick previews (seconds)")
    parser.add_argument("--out", type=Path, default=None, help=f"output folder (default figures/{name}/)")
    parser.add_argument("--show", action="store_true", help="show each figure in a window (for lecture)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    return parser


def in_ipython_kernel() -> bool:
    """True inside a Jupyter kernel (not a plain `ipython` terminal)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _to_json(value):
    """Summary values as plain JSON: tensors and numpy scalars become numbers or lists."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# --- output folder ---------------------------------------------------------------------------

class OutputFolderError(Exception):
    """The output folder cannot be created or written."""


def prepare_output_folder(out: Path, origin: str = "--out") -> Path:
    """Create `out` and prove it is writable, or raise OutputFolderError naming the folder.

    `origin` says where the folder came from: "--out", "COURSE_OUT", or "default".
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        reason = error.strerror or str(error)
        if origin == "default":
            raise OutputFolderError(f"cannot write the folder {out}/ ({reason}): run from a folder you "
                                    f"can write to, or choose one with --out DIR") from None
        raise OutputFolderError(f"cannot write to {origin} {out} ({reason})") from None
    return out


def default_output(name: str) -> tuple[Path, str]:
    """figures/<name>/ in the current folder, or $COURSE_OUT/<name>/."""
    if os.environ.get("COURSE_OUT"):
        return Path(os.environ["COURSE_OUT"]) / name, "COURSE_OUT"
    return Path("figures") / name, "default"


# --- the lesson ------------------------------------------------------------------------------

@dataclass
class Lesson:
    name: str
    title: str
    fast: bool
    out: Path
    show_windows: bool
    seed: int
    source: Path | None = None
    viewer: object = None
    summary: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    claims: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    sections: list = field(default_factory=list)  # [{"title", "figures": [...], "numbers": [{"key", "text"}]}]
    started: float = field(default_factory=time.perf_counter)
    threads_before: int = 0
    _run: LessonOptions | None = None

    @classmethod
    def start(cls, name: str, *, fast: bool = False, out=None, seed: int = 0, show: bool = False) -> "Lesson":
        """Settle the options, seed every generator, prepare the output folder.

        `name` is the lesson file's stem ("04_convolution"); its title comes from the syllabus.
        """
        caller = sys._getframe(1).f_globals
        run = _active[-1] if _active else None
        as_script = run is None and not in_ipython_kernel() and caller.get("__name__") == "__main__"
        title = _title_of(name)
        fast = fast or os.environ.get("COURSE_FAST", "") not in ("", "0")
        out, origin = (Path(out), "--out") if out is not None else default_output(name)
        if run is not None:
            fast = run.fast if run.fast is not None else fast
            seed = run.seed if run.seed is not None else seed
            show = run.show if run.show is not None else show
            if run.out is not None:
                out, origin = Path(run.out), "--out"
        elif as_script:
            args = lesson_parser(name, title).parse_args(sys.argv[1:])
            fast, show = fast or args.fast, show or args.show
            seed = args.seed if args.seed is not None else seed
            if args.out is not None:
                out, origin = args.out, "--out"
        try:
            out = prepare_output_folder(out, origin)
        except OutputFolderError as error:
            if as_script:
                raise SystemExit(f"error: {error}") from None
            raise
        source = run.source if run is not None and run.source is not None else _source_file(caller, name)
        if show:
            from course.runtime.present import has_display

            ok, why = has_display()
            if not ok:
                print(f"--show: {why}; the figures are saved in {out}/")
                show = False
        if not show and not in_ipython_kernel() and (run is None or run.viewer is None):
            import matplotlib

            matplotlib.use("Agg")
        apply_course_style()
        seed_everything(seed)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny models: one thread is faster and sums in a fixed order (course/runtime/threads.py)
        print(f"== Lesson {name}: {title}{'  (fast)' if fast else ''}")
        lesson = cls(name=name, title=title, fast=bool(fast), out=out, show_windows=bool(show), seed=int(seed),
                     source=source, viewer=run.viewer if run is not None else None, threads_before=threads, _run=run)
        if lesson.show_windows and lesson.viewer is None:
            from course.runtime.present import Presenter

            lesson.viewer = Presenter()
        return lesson

    # -- figures --

    def show(self, fig, name: str, caption: str | None = None) -> None:
        """Show a figure: saved as out/<name>.png (always, at the course's fixed dpi); in a Jupyter
        kernel also displayed inline under the cell; with --show in a window; then closed.

        `caption`: by default the first sentence of the prose just above the cell.
        """
        import matplotlib.pyplot as plt

        path = self.out / f"{name}.png"
        fig.savefig(path, dpi=FIGURE_DPI)
        plt.close(fig)
        section, cell_prose = self._where()
        if caption is None and cell_prose:
            from course.runtime.cells import first_sentence

            caption = first_sentence(cell_prose)
        self.figures.append(path.name)
        self._section(section)["figures"].append({"file": path.name, "caption": caption or ""})
        if in_ipython_kernel():
            from IPython.display import Image, display

            display(Image(data=path.read_bytes(), format="png"))
        if self.viewer is not None:
            self.viewer.step(self)
        # Returns nothing, so that a cell ending with it shows no Out[] in a notebook.

    save = show  # the name before the cell format

    # -- numbers --

    def record(self, key: str, value) -> None:
        """Put a value (a table, a list) in summary.json without printing it."""
        self.summary[key] = _to_json(value)

    def report(self, key: str, value, meaning: str, *, bound: float | None = None, at_least: float | None = None,
               kind: str = "claim") -> None:
        """Print a number with one line of meaning and record it; with a bound it is a check.

        `bound`: the value must be at most this (an error); `at_least`: at least this (an accuracy).
        `kind`: "claim" (a check on the phenomenon) or "tool" (true by construction).
        """
        if kind not in CHECK_KINDS:
            raise ValueError(f"report({key!r}): kind must be one of {CHECK_KINDS}, not {kind!r}")
        value = _to_json(value)
        self.summary[key] = value
        line = f"  {key} = {_format(value)}    # {meaning}"
        section, _ = self._where()
        if bound is not None or at_least is not None:
            ok = (bound is None or value <= bound) and (at_least is None or value >= at_least)
            limit = _limit_text(bound, at_least)
            self.checks[key] = {"value": value, "limit": limit, "ok": bool(ok), "kind": kind, "meaning": meaning,
                                "section": section}
            line += f"  [{'ok' if ok else 'FAILED'}: {limit}{', tool' if kind == 'tool' else ''}]"
        self._section(section)["numbers"].append({"key": key, "text": line.strip(), "meaning": meaning})
        if self.viewer is not None:
            self.viewer.step(self)  # the viewer prints the numbers with their section
        else:
            print(line)  # returns nothing: no Out[] under the cell in a notebook; the value is lesson.summary[key]

    def claim(self, id: str, *, source: str, claim: str, status: str, evidence, note: str = "") -> None:
        """Record one claim of a source text and whether this lesson's numbers reproduce it.

        `status`: "reproduced" (the lesson's own numbers on a trained or real model support it),
        "partial", "constructed only" (shown on a hand-built network with the answer planted),
        or "not reproduced". `evidence`: summary keys that support the status (checked in finish()).
        A status stated here is a forecast: if a check among the evidence fails in this run, finish()
        records the claim as "not reproduced" and says which check failed.
        """
        if status not in CLAIM_STATUSES:
            raise ValueError(f"claim({id!r}): status must be one of {CLAIM_STATUSES}, not {status!r}")
        evidence = [evidence] if isinstance(evidence, str) else list(evidence)
        self.claims.append({"id": id, "source": source, "claim": claim, "status": status, "evidence": evidence,
                            "note": note})

    def finish(self) -> dict:
        """Write summary.json, print the tallies and the claims box, and return the summary."""
        seconds = time.perf_counter() - self.started
        if self.threads_before:
            torch.set_num_threads(self.threads_before)
        missing = {c["id"]: [k for k in c["evidence"] if k not in self.summary] for c in self.claims}
        missing = {claim: keys for claim, keys in missing.items() if keys}
        if missing:
            raise ValueError(f"{self.name}: claims cite evidence missing from the summary: {missing}")
        for c in self.claims:  # no claim stands on a check that failed in this run
            failed = [k for k in c["evidence"] if k in self.checks and not self.checks[k]["ok"]]
            if failed and c["status"] != "not reproduced":
                c["note"] = "; ".join(filter(None, [c["note"], f"stated {c['status']}, but in this run the check "
                                                              f"{', '.join(failed)} failed"]))
                c["status"] = "not reproduced"
        summary = {
            "lesson": self.name,
            "title": self.title,
            "fast": self.fast,
            "seed": self.seed,
            **self.summary,
            "checks": self.checks,
            "claims": self.claims,
            "figures": self.figures,
            "sections": self.sections,
            "seconds": round(seconds, 2),
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        if self.viewer is not None:
            self.viewer.finish(self)  # the last sections, before the tallies
        if self.claims:
            print("  Claims of the source texts:")
            for c in self.claims:
                print(f"    [{c['status']}] {c['id']}: {c['claim']}")
        print(f"== {self.name}: {check_tally(self.checks)}; claims: {claim_tally(self.claims)}; "
              f"{len(self.figures)} figures in {self.out}/ ({seconds:.1f} s)")
        if self._run is not None:
            self._run.summary = summary
        return summary

    # -- where in the lesson file a call comes from --

    def _where(self) -> tuple[str, str]:
        """(section heading, prose above the cell) of the lesson cell that called us.

        Run as a file, the caller's line number says which cell it is; in a notebook kernel,
        the cell's text is found among the lesson file's cells (an edited cell matches none).
        """
        if self.source is None:
            return "", ""
        from course.runtime.cells import cell_at, lesson_cells, prose_before

        source = os.path.abspath(self.source)
        cells = lesson_cells(source)
        frame = sys._getframe(1)
        while frame is not None:
            filename = frame.f_code.co_filename
            if os.path.abspath(filename) == source:
                cell = cell_at(cells, frame.f_lineno)
                break
            cell = _notebook_cell(cells, filename)
            if cell is not None:
                break
            frame = frame.f_back
        if frame is None or cell is None:
            return "", ""
        return cell.section, prose_before(cells, cell) if cell.kind == "code" else ""

    def _section(self, title: str) -> dict:
        if not self.sections or self.sections[-1]["title"] != title:
            self.sections.append({"title": title, "figures": [], "numbers": []})
        return self.sections[-1]


def _notebook_cell(cells, filename: str):
    """The lesson cell whose text is the notebook cell compiled as `filename` (IPython keeps
    each executed cell's text in linecache), or None."""
    if os.path.isfile(filename):
        return None
    import linecache

    text = "".join(linecache.getlines(filename)).strip()
    return next((cell for cell in cells if cell.kind == "code" and text and cell.text.strip() == text), None)


def check_tally(checks: dict) -> str:
    """"3/3 tool checks hold, 5/6 claim checks hold"."""
    parts = []
    for kind in ("tool", "claim"):
        mine = [c for c in checks.values() if c.get("kind", "claim") == kind]
        parts.append(f"{sum(c['ok'] for c in mine)}/{len(mine)} {kind} checks hold")
    return ", ".join(parts)


def claim_tally(claims: list) -> str:
    """"2 reproduced, 1 partial, 0 constructed only, 0 not reproduced"."""
    return ", ".join(f"{sum(c['status'] == s for c in claims)} {s}" for s in CLAIM_STATUSES)


def run_total(summaries: list) -> str:
    """The line under `run all`: "10 lessons, N/N checks hold, claims: 3 reproduced, ..."."""
    checks = [c for s in summaries for c in s.get("checks", {}).values()]
    claims = [c for s in summaries for c in s.get("claims", [])]
    return (f"{len(summaries)} lessons, {sum(c['ok'] for c in checks)}/{len(checks)} checks hold, "
            f"claims: {claim_tally(claims)}")


def _title_of(name: str) -> str:
    from course.runtime.syllabus import SYLLABUS

    for entry in SYLLABUS:
        if entry.stem == name:
            return entry.title
    return name


def _source_file(caller_globals: dict, name: str) -> Path | None:
    """The lesson file: the caller's __file__ when run as a file, else (a notebook) lessons/<name>.py."""
    file = caller_globals.get("__file__")
    if file and str(file).endswith(".py") and Path(file).is_file():
        return Path(file)
    from course.runtime.syllabus import LESSONS_DIR

    path = LESSONS_DIR / f"{name}.py"
    return path if path.is_file() else None


def _limit_text(bound, at_least) -> str:
    if bound is not None and at_least is not None:
        return f"== {bound:g}" if bound == at_least else f"in [{at_least:g}, {bound:g}]"
    return f"<= {bound:g}" if bound is not None else f">= {at_least:g}"


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
