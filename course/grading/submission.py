"""Uploads as students make them: `exNN_*.py` files anywhere in the folder, regular files only.

    find_exercise_files(upload, exercises) -> Upload(files={exercise: path}, problems=[...])
    stage(upload_files, folder)              the accepted sources, copied into a folder of the grader's

A Gradescope upload may be the whole student copy (`course/exercises/ex04_convolution.py`) or
the one file dragged in (`ex04_convolution.py` at the top). A file counts for an exercise when
its name is `exNN_<anything>.py`; one named exactly like the exercise wins over others. Only
regular files are read: a symbolic link (perhaps to the grader's own solution), a FIFO or a
device is refused with a message that lands in the report, and so is a file too large to be code.
"""
from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

EXERCISE_FILE = re.compile(r"(ex\d\d)_\w*\.py")
MAX_SOURCE_BYTES = 1 << 20
MAX_ENTRIES = 20000  # an upload is a handful of files; stop walking an absurd one


class SubmissionFileError(ValueError):
    """A file of the upload that cannot be graded (a link, not a regular file, too large)."""


def read_regular_file(path: Path) -> str:
    """The text of `path` if it is a regular file (never following a symbolic link), else SubmissionFileError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if os.path.islink(path):
            raise SubmissionFileError(f"{Path(path).name} is a symbolic link: only regular files are graded") from None
        raise SubmissionFileError(f"{Path(path).name} cannot be read: {error.strerror}") from None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionFileError(f"{Path(path).name} is not a regular file: only regular files are graded")
        if info.st_size > MAX_SOURCE_BYTES:
            raise SubmissionFileError(f"{Path(path).name} is {info.st_size} bytes: more than "
                                      f"{MAX_SOURCE_BYTES // 1024} KiB is not an exercise file")
        data = file.read(MAX_SOURCE_BYTES + 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SubmissionFileError(f"{Path(path).name} is not UTF-8 text") from None


@dataclass
class Upload:
    files: dict[str, Path] = field(default_factory=dict)      # exercise -> the file graded for it
    problems: dict[str, str] = field(default_factory=dict)    # exercise -> why it cannot be graded
    notes: list[str] = field(default_factory=list)            # other things the student should know


def find_exercise_files(upload: Path, exercises) -> Upload:
    """The file to grade for each of `exercises` ('ex04_convolution', ...), found anywhere in `upload`."""
    upload = Path(upload)
    by_number = {name.split("_")[0]: name for name in exercises}
    candidates: dict[str, list[Path]] = {name: [] for name in exercises}
    seen = 0
    for folder, dirs, files in os.walk(upload):  # never descends into symbolic links to folders
        linked_dirs = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__" and d not in linked_dirs)
        for name in sorted(files + linked_dirs):
            seen += 1
            match = EXERCISE_FILE.fullmatch(name)
            if match and match[1] in by_number:
                candidates[by_number[match[1]]].append(Path(folder) / name)
        if seen > MAX_ENTRIES:
            break
    result = Upload()
    for exercise, paths in candidates.items():
        if not paths:
            continue
        exact = [p for p in paths if p.name == f"{exercise}.py"]
        in_course = [p for p in exact if p.parent == upload / "course" / "exercises"]
        exact = in_course or exact  # a whole student copy: its course/exercises/ file wins
        if len(exact) > 1 or (not exact and len(paths) > 1):
            shown = ", ".join(str(p.relative_to(upload)) for p in (exact or paths))
            result.problems[exercise] = f"the upload has several files for {exercise.split('_')[0]} ({shown}): keep one"
            continue
        path = (exact or paths)[0]
        try:
            read_regular_file(path)
        except SubmissionFileError as error:
            result.problems[exercise] = f"{path.relative_to(upload)}: {error}"
            continue
        result.files[exercise] = path
        if path.name != f"{exercise}.py":
            result.notes.append(f"graded {path.relative_to(upload)} as {exercise}.py")
    return result


def stage(upload: Upload, folder: Path) -> Path:
    """Copy the accepted sources into `folder` (the grader's own), as <exercise>.py; returns folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for exercise, path in upload.files.items():
        (folder / f"{exercise}.py").write_text(read_regular_file(path))
    return folder
