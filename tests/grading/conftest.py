"""The student copy, released once per test session for the grader's meta-tests."""
from pathlib import Path

import pytest

from course.grading.release import release


@pytest.fixture(scope="session")
def released_copy(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student-copy")
    release(out, force=True)
    return out
