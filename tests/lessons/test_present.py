"""Lecture mode: `python -m course present` steps through a lesson one section at a time, driven by
keys, in the terminal alone and with a real window under Xvfb (Debian's xvfb; .ci/run installs it)."""
import os
import pty
import re
import shutil
import subprocess
import sys
import time

import pytest

FIRST = "Two classes that no straight line separates"
SECOND = "What ReLU does to the plane"


def present(*args, env=None, stdin=subprocess.PIPE):
    return subprocess.Popen([sys.executable, "-m", "course", "present", *args], stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)


def without_display():
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND")}


@pytest.mark.slow
def test_without_a_display_it_steps_through_sections_in_the_terminal(tmp_path):
    process = present("01", "--fast", "--out", str(tmp_path), env=without_display())
    output, _ = process.communicate("n\np\n\nq\n", timeout=600)  # next, back, next (enter), quit
    assert process.returncode == 0, output
    assert output.splitlines()[0] == f"no display (DISPLAY is not set): stepping through the sections here; " \
                                     f"the figures are saved in {tmp_path}/"
    headings = re.findall(r"01_folding_space · section (\d): (.+)", output)
    assert headings == [("1", FIRST), ("2", SECOND), ("1", FIRST), ("2", SECOND)]
    assert "input_best_line_accuracy = " in output and f"figure: {tmp_path}/data.png" in output
    assert "Class 1 sits above a V-shaped curve" in output  # the section's prose
    assert output.rstrip().endswith("stopped: the figures so far are saved")
    assert not (tmp_path / "folding_steps.png").exists()  # quitting stopped the lesson in section 3


def test_show_without_a_display_says_so_in_one_line_and_where_the_figures_go(tmp_path, monkeypatch, capsys):
    from course.runtime.lesson import Lesson, lesson_options

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "MPLBACKEND"):
        monkeypatch.delenv(name, raising=False)
    with lesson_options(out=tmp_path, show=True):
        lesson = Lesson.start("01_folding_space")
    assert lesson.show_windows is False and lesson.viewer is None  # runs on, headless
    said = capsys.readouterr().out.splitlines()
    assert said[0] == f"--show: no display (DISPLAY is not set); the figures are saved in {tmp_path}/"


def window_titles(display):
    listing = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True,
                             env={**os.environ, "DISPLAY": display, "LC_ALL": "C.UTF-8"}, timeout=30).stdout
    return re.findall(r'"(01_folding_space · [^"]+)"', listing)


def wait_for(condition, what, limit=300):
    deadline = time.monotonic() + limit  # a bound on waiting, not a speed assertion
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture
def xvfb():
    missing = [tool for tool in ("Xvfb", "xwininfo") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (Debian packages xvfb, x11-utils; .ci/run installs them)")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                              pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        pytest.skip("Xvfb did not start")
    yield f":{number}"
    server.terminate()
    server.wait(timeout=30)


@pytest.mark.slow
def test_with_a_display_one_titled_window_follows_the_keys_typed_in_the_terminal(tmp_path, xvfb):
    master, slave = pty.openpty()  # a real terminal: keys arrive one by one, without enter
    env = {**without_display(), "DISPLAY": xvfb}
    process = present("01", "--fast", "--out", str(tmp_path), env=env, stdin=slave)
    os.close(slave)
    try:
        assert wait_for(lambda: window_titles(xvfb), "the first window") == [f"01_folding_space · {FIRST}"]
        os.write(master, b"n")
        wait_for(lambda: window_titles(xvfb) == [f"01_folding_space · {SECOND}"], "the second section's window")
        os.write(master, b"p")
        wait_for(lambda: window_titles(xvfb) == [f"01_folding_space · {FIRST}"], "the first section again")
        os.write(master, b"q")
        assert process.wait(timeout=120) == 0
        assert window_titles(xvfb) == []  # closed cleanly
        output = process.stdout.read()
        assert "no display" not in output and output.count(f"section 1: {FIRST}") == 2
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
