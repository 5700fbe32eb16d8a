"""`python -m course autograder --out DIR`: a Gradescope autograder that holds no solution.

    DIR/autograder/              the bundle as a folder (to read, or to try before uploading)
        setup.sh                 Gradescope runs it once, as root, when it builds the image
        run_autograder           Gradescope runs it for every submission, as root
        conv-circuits/           the course in its released form (`release`), graded tests included
    DIR/autograder.zip           the same files, setup.sh and run_autograder at the top of the zip

On Gradescope the zip is unpacked into /autograder/source, `setup.sh` makes a virtualenv there
with the course's pinned requirements (torch from the CPU wheel index), and `run_autograder` runs

    python -m course grade --submission /autograder/submission --json /autograder/results/results.json

from the bundle's copy of the course. The graded tests compute their expected values with torch
or with references written in the tests, so the released copy is all the grader needs; the
bundle is checked like a student copy (`release.check_release`: no solution marker, no mutant,
no known answer) before the zip is written, and nothing is written when that check fails.
"""
from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path

from course import CHECKOUT_ROOT
from course.grading.release import check_release, release

COURSE_FOLDER = "conv-circuits"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source, when it builds the autograder image:
# a virtualenv with the course's pinned requirements (requirements.txt: torch 2.13.0 and the rest).
#
# TORCH_INDEX_URL: where torch comes from. The default is PyTorch's CPU-only wheel index, since
# the grader needs no GPU and an unpinned index would pull a CUDA build of several GB. Set it
# empty (TORCH_INDEX_URL= bash setup.sh) to install torch from pip's usual sources, e.g. a local
# wheel that pip is configured to find. PYTHON (default python3, 3.10 or newer) and
# AUTOGRADER_VENV (default ./venv beside this file) can be overridden too.
set -euo pipefail
here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
requirements="$here/{COURSE_FOLDER}/requirements.txt"
python="${{PYTHON:-python3}}"
venv="${{AUTOGRADER_VENV:-$here/venv}}"
torch_index="${{TORCH_INDEX_URL-{TORCH_CPU_INDEX}}}"

if ! "$python" -c 'import ensurepip, sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update && apt-get install -y python3 python3-venv python3-pip
  fi
  "$python" -c 'import ensurepip, sys, venv; sys.exit(sys.version_info < (3, 10))' \\
    || {{ echo "setup.sh: $python is not Python 3.10 or newer with venv; set PYTHON=..." >&2; exit 1; }}
fi
"$python" -m venv "$venv"
torch_pin="$(grep -E '^torch==' "$requirements")"
if [ -n "$torch_index" ]; then
  "$venv/bin/python" -m pip install "$torch_pin" --index-url "$torch_index"
else
  "$venv/bin/python" -m pip install "$torch_pin"
fi
"$venv/bin/python" -m pip install -r "$requirements"
"$venv/bin/python" -c "import torch; print('setup.sh: torch', torch.__version__, 'in', '$venv')"
"""

RUN_AUTOGRADER = f"""#!/usr/bin/env bash
# Gradescope copies this file to /autograder/run_autograder and runs it, as root, for every
# submission. It grades every exercise with the course's own grader, which writes results.json
# on every path (a missing file, a crash, a timeout: score 0 and the reason). Extra arguments go
# to `python -m course grade` (e.g. `run_autograder ex04` grades one exercise). For a run off
# Gradescope, override AUTOGRADER_SOURCE (this bundle), AUTOGRADER_SUBMISSION, AUTOGRADER_RESULTS
# and AUTOGRADER_PYTHON (default: the virtualenv setup.sh made).
set -uo pipefail
source_dir="${{AUTOGRADER_SOURCE:-/autograder/source}}"
submission="${{AUTOGRADER_SUBMISSION:-/autograder/submission}}"
results="${{AUTOGRADER_RESULTS:-/autograder/results/results.json}}"
python="${{AUTOGRADER_PYTHON:-$source_dir/venv/bin/python}}"
mkdir -p "$(dirname "$results")"
cd "$source_dir/{COURSE_FOLDER}" || exit 2
"$python" -m course grade --submission "$submission" --json "$results" "$@"
status=$?
if [ ! -e "$results" ]; then  # the grader could not even start (no Python, a broken install): still a report
  printf '{{"score": 0, "output": "The autograder could not run (exit status %s): please tell the course staff.", "tests": []}}\\n' \\
    "$status" > "$results"
fi
exit "$status"
"""


def autograder(out: Path, root: Path = CHECKOUT_ROOT, force: bool = False) -> tuple[Path, Path]:
    """Write DIR/autograder/ and DIR/autograder.zip; return (folder, zip). Refuses a bundle that holds a solution."""
    out = Path(out).resolve()
    if out == root.resolve() or root.resolve() in out.parents:
        raise ValueError(f"--out {out} is inside the checkout; choose a folder outside it")
    folder, archive = out / "autograder", out / "autograder.zip"
    if (folder.exists() or archive.exists()) and not force:
        raise ValueError(f"{folder} or {archive} exists already; choose another --out or pass --force")
    shutil.rmtree(folder, ignore_errors=True)
    archive.unlink(missing_ok=True)
    try:
        release(folder / COURSE_FOLDER, root)
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            (folder / name).write_text(text)
            (folder / name).chmod(0o755)
        check_release(folder, root)
        write_zip(folder, archive)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        archive.unlink(missing_ok=True)
        raise
    return folder, archive


def write_zip(folder: Path, archive: Path) -> None:
    """Every file under folder, at the zip's top level, with its permission bits (run_autograder stays executable)."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                info = zipfile.ZipInfo.from_file(path, path.relative_to(folder).as_posix())
                info.external_attr = (stat.S_IFREG | stat.S_IMODE(os.stat(path).st_mode)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                bundle.writestr(info, path.read_bytes())
