"""Lecture mode: `python -m course present 07` steps through a lesson one section at a time.

The lesson runs as usual; each time a section is complete (the next one starts, or the lesson
finishes), the presenter stops and shows it: the heading, its prose and its numbers in the
terminal, its figure(s) in one window titled "lesson · section". Keys, in the window or the
terminal: n, space or enter for the next section, p for the previous one, q to quit. Going
back shows sections already computed; going forward past the newest lets the lesson compute
the next one.

Without a display the presenter still steps through the sections in the terminal and says
where the figures are. `python -m course run 07 --show` (and `python lessons/07_....py --show`)
use the same presenter.
"""
from __future__ import annotations

import os
import select
import sys
import textwrap
from pathlib import Path

NEXT_KEYS = {"n", " ", "enter", "\n", "\r", "right", "down", "pagedown"}
BACK_KEYS = {"p", "left", "up", "pageup", "backspace"}
QUIT_KEYS = {"q", "escape", "\x1b", "\x03", "\x04"}
HELP = "[n / space / enter: next · p: back · q: quit]"


def has_display() -> tuple[bool, str]:
    """Whether windows can be opened here, and if not, why."""
    if os.environ.get("MPLBACKEND", "").lower() in ("agg", "pdf", "svg", "ps", "cairo"):
        return False, f"MPLBACKEND={os.environ['MPLBACKEND']} draws no windows"
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False, "no display (DISPLAY is not set)"
    return True, ""


class PresenterQuit(SystemExit):
    """The lecturer pressed q: stop the lesson here (a script exits quietly with status 0)."""


class Presenter:
    """A lesson viewer (see Lesson.start's `viewer`): called after each figure and number."""

    def __init__(self, window: bool | None = None, keys=None, out=None):
        available, self.why_no_window = has_display()
        self.window = available if window is None else (window and available)
        self.keys = keys if keys is not None else sys.stdin
        self.out = out or sys.stdout
        self.shown = 0  # sections presented so far
        self.position = -1  # the section on screen
        self.figure = None
        self.pending_keys: list[str] = []
        self.stdin_open = True
        self.tty_state = None

    # -- called by the lesson --

    def step(self, lesson) -> None:
        """A figure or a number was added: present every section that is now complete."""
        while self.shown < len(lesson.sections) - 1:
            self._reach(lesson, self.shown)

    def finish(self, lesson) -> None:
        """The lesson finished: present the sections left, the last one until next or quit."""
        try:
            while self.shown < len(lesson.sections):
                self._reach(lesson, self.shown, last=self.shown == len(lesson.sections) - 1)
        finally:
            self.close()

    # -- stepping --

    def _reach(self, lesson, index: int, last: bool = False) -> None:
        """Show the newest complete section, and let the lecturer browse back until 'next' at it."""
        self.shown = index + 1
        self._display(lesson, index)
        while True:
            key = self._wait_key()
            if key in QUIT_KEYS:
                self.close()
                raise PresenterQuit()
            if key in BACK_KEYS and self.position > 0:
                self._display(lesson, self.position - 1)
            elif key in NEXT_KEYS:
                if self.position == index:
                    self._say("  (end of the lesson)" if last else "  (computing the next section...)")
                    return
                self._display(lesson, self.position + 1)

    def _display(self, lesson, index: int) -> None:
        self.position = index
        section = lesson.sections[index]
        title = section["title"] or lesson.title
        rule = "─" * 78
        lines = ["", rule, f"{lesson.name} · section {index + 1}: {title}", rule]
        prose = _prose_of(lesson, section["title"])
        if prose:
            lines += textwrap.wrap(" ".join(prose.split()), 78)
            lines.append("")
        lines += [f"  {number['text']}" for number in section["numbers"]]
        figures = [lesson.out / figure["file"] for figure in section["figures"]]
        lines += [f"  figure: {path}" for path in figures]
        lines.append(HELP)
        self._say("\n".join(lines))
        if self.window:
            self._draw(f"{lesson.name} · {title}", figures)

    # -- the window --

    def _draw(self, title: str, figures: list[Path]) -> None:
        import matplotlib.pyplot as plt

        if self.figure is None or not plt.fignum_exists(self.figure.number):
            self.figure = plt.figure(figsize=(12, 7.5), layout="none")
            self.figure.canvas.mpl_connect("key_press_event", lambda event: self.pending_keys.append(event.key or ""))
        self.figure.clf()
        self.figure.canvas.manager.set_window_title(title)
        if not figures:
            self.figure.text(0.5, 0.5, "(no figure in this section)", ha="center", va="center", fontsize=16)
        for i, path in enumerate(figures):
            ax = self.figure.add_subplot(1, len(figures), i + 1)
            ax.imshow(plt.imread(path))
            ax.set_axis_off()
        self.figure.subplots_adjust(left=0, right=1, bottom=0, top=1, wspace=0.02)
        plt.show(block=False)
        self.figure.canvas.draw_idle()
        plt.pause(0.01)

    def close(self) -> None:
        self._restore_terminal()
        if self.figure is not None:
            import matplotlib.pyplot as plt

            plt.close(self.figure)
            self.figure = None

    # -- keys --

    def _wait_key(self) -> str:
        """The next key from the window or the terminal. A closed window or terminal quits."""
        self._prepare_terminal()
        while True:
            if self.pending_keys:
                return self.pending_keys.pop(0)
            if self.window:
                import matplotlib.pyplot as plt

                if self.figure is not None and not plt.fignum_exists(self.figure.number):
                    return "q"  # the window was closed
                plt.pause(0.05)
            elif not self.stdin_open:
                return "q"
            key = self._read_terminal(0.0 if self.window else 0.2)
            if key is not None:
                return key

    def _read_terminal(self, timeout: float) -> str | None:
        if not self.stdin_open or self.keys is None:
            return None
        try:
            ready, _, _ = select.select([self.keys], [], [], timeout)
        except (ValueError, OSError):  # no real file behind it
            ready = [self.keys]
        if not ready:
            return None
        if self.tty_state is not None:
            char = os.read(self.keys.fileno(), 1).decode(errors="replace")
            return char if char else self._closed()
        line = self.keys.readline()
        if not line:
            return self._closed()
        word = line.strip().lower()
        return word[:1] if word else "enter"

    def _closed(self) -> str | None:
        self.stdin_open = False
        return None if self.window else "q"

    def _prepare_terminal(self) -> None:
        """Single keys without enter when the terminal is a tty (restored by close())."""
        if self.tty_state is not None or self.keys is None or not hasattr(self.keys, "isatty"):
            return
        try:
            if not self.keys.isatty():
                return
            import termios
            import tty

            self.tty_state = termios.tcgetattr(self.keys.fileno())
            tty.setcbreak(self.keys.fileno())
        except (OSError, ValueError, ImportError):
            self.tty_state = None

    def _restore_terminal(self) -> None:
        if self.tty_state is not None:
            import termios

            termios.tcsetattr(self.keys.fileno(), termios.TCSADRAIN, self.tty_state)
            self.tty_state = None

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def _prose_of(lesson, section_title: str) -> str:
    """The prose under a section's heading, from the lesson file."""
    if lesson.source is None or not section_title:
        return ""
    from course.runtime.cells import lesson_cells

    for cell in lesson_cells(lesson.source):
        if cell.heading == section_title:
            return cell.prose
    return ""
