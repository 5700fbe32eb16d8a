"""Test-session setup shared by every test folder."""
import os

import pytest

import kernels  # noqa: F401  (first: without a GPU it chooses the Triton interpreter before triton is imported)
from course.runtime.threads import cpu_threads


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """The tests' tensors are small: one thread is faster (two that wait on each other on a busy
    2-core machine are ten times slower) and adds sums in one order on every machine."""
    with cpu_threads(1):
        yield


# Under pytest-xdist (the README runs `pytest -n auto --dist loadgroup`), tests that share an expensive
# session or module fixture stay on one worker, which builds it once: the grading tests (the batch of
# graded uploads, the released copy) and the ahead-of-time compiles. Lesson runs are shared between
# workers another way (tests/lessons/conftest.py).
SHARED_FIXTURE_GROUPS = {"tests/grading/": "grading", "tests/kernels/test_aot_compile.py": "aot_compile"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups
def pytest_collection_modifyitems(config, items):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    for item in items:
        for prefix, group in SHARED_FIXTURE_GROUPS.items():
            if item.nodeid.startswith(prefix):
                item.add_marker(pytest.mark.xdist_group(group))
