"""What every lesson shares: its command line, its output folder, and its checked numbers.

A lesson calls `Lesson.start(__doc__, argv)`, then for each idea saves
figures with `lesson.save(fig, name)` and states numbers with `lesson.report(...)`;
`lesson.finish()` writes `summary.json` and returns the summary.

A number reported with a bound is a *check*: the lesson claims it, the summary records
whether it held, and `python -m course run` fails when one does not.
"""
from __future__ import annotations

import argparse
import inspect
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from course.runtime.style import apply_course_style

FIGURE_DPI = 120


def _argv_for(argv):
    """argv as given; in a notebook kernel, ignore the kernel's own command line."""
    if argv is not None:
        return list(argv)
    if "ipykernel" in sys.modules:
        return []
    return sys.argv[1:]


def lesson_parser(name: str, title: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"lesson {name}", description=title)
    parser.add_argument("--fast", action="store_true", help="small sizes for CI and quick previews (at most 30 s)")
    parser.add_argument("--out", type=Path, default=None, help=f"output folder (default figures/{name}/)")
    parser.add_argument("--show", action="store_true", help="open figure windows (for lecture)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return parser


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


@dataclass
class Lesson:
    name: str
    title: str
    fast: bool
    out: Path
    show: bool
    seed: int
    summary: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    figures: list = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    threads_before: int = 0

    @classmethod
    def start(cls, doc: str, argv=None, file: str | None = None) -> "Lesson":
        """Parse the lesson's command line, seed every generator, prepare the output folder.

        The lesson's name (and default output folder) is its file's stem; `file` defaults to
        the caller's `__file__`, and in a notebook, which has none, to the title's first words.
        """
        title = (doc or "lesson").strip().splitlines()[0]
        file = file or inspect.stack()[1].frame.f_globals.get("__file__")
        name = Path(file).stem if file else "_".join(title.lower().split()[:3])
        args = lesson_parser(name, title).parse_args(_argv_for(argv))
        out = prepare_output_folder(args.out if args.out is not None else Path("figures") / name)
        if not args.show:
            import matplotlib

            matplotlib.use("Agg")
        apply_course_style()
        seed_everything(args.seed)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny models: one thread is faster and sums in a fixed order (course/runtime/threads.py)
        print(f"== Lesson {name}: {title}{'  (fast)' if args.fast else ''}")
        return cls(name=name, title=title, fast=args.fast, out=out, show=args.show, seed=args.seed,
                   threads_before=threads)

    def save(self, fig, name: str) -> Path:
        """Save a figure as out/<name>.png at the course's fixed dpi (same size every run)."""
        path = self.out / f"{name}.png"
        fig.savefig(path, dpi=FIGURE_DPI)
        self.figures.append(path.name)
        if self.show:
            import matplotlib.pyplot as plt

            plt.show(block=False)
            plt.pause(0.5)
        else:
            import matplotlib.pyplot as plt

            plt.close(fig)
        return path

    def record(self, key: str, value) -> None:
        """Put a value (a table, a list) in summary.json without printing it."""
        self.summary[key] = _to_json(value)

    def report(self, key: str, value, meaning: str, *, bound: float | None = None, at_least: float | None = None):
        """Print a number with one line of meaning and record it; with a bound it is a check.

        `bound`: the value must be at most this (an error); `at_least`: at least this (an accuracy).
        """
        value = _to_json(value)
        self.summary[key] = value
        line = f"  {key} = {_format(value)}    # {meaning}"
        if bound is not None or at_least is not None:
            ok = (bound is None or value <= bound) and (at_least is None or value >= at_least)
            limit = _limit_text(bound, at_least)
            self.checks[key] = {"value": value, "limit": limit, "ok": bool(ok)}
            line += f"  [{'ok' if ok else 'FAILED'}: {limit}]"
        print(line)
        return value

    def finish(self) -> dict:
        """Write summary.json and return the summary (numbers, checks, figures, seconds)."""
        seconds = time.perf_counter() - self.started
        if self.threads_before:
            torch.set_num_threads(self.threads_before)
        summary = {
            "lesson": self.name,
            "title": self.title,
            "fast": self.fast,
            "seed": self.seed,
            **self.summary,
            "checks": self.checks,
            "figures": self.figures,
            "seconds": round(seconds, 2),
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        failed = [k for k, c in self.checks.items() if not c["ok"]]
        status = f"{len(self.checks) - len(failed)}/{len(self.checks)} checks hold"
        print(f"== {self.name}: {status}, {len(self.figures)} figures in {self.out}/ ({seconds:.1f} s)")
        if os.environ.get("MPLBACKEND", "").lower() != "agg" and self.show:
            import matplotlib.pyplot as plt

            plt.show()
        return summary


class OutputFolderError(Exception):
    """--out cannot be created or written."""


def prepare_output_folder(out: Path) -> Path:
    """Create `out` and prove it is writable, or raise OutputFolderError saying why."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise OutputFolderError(f"cannot write to --out {out}: {error.strerror or error}") from None
    return out


def _limit_text(bound, at_least) -> str:
    if bound is not None and at_least is not None:
        return f"== {bound:g}" if bound == at_least else f"in [{at_least:g}, {bound:g}]"
    return f"<= {bound:g}" if bound is not None else f">= {at_least:g}"


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
