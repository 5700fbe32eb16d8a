"""Test-session setup shared by every test folder."""
import pytest

import kernels  # noqa: F401  (first: without a GPU it chooses the Triton interpreter before triton is imported)
from course.runtime.threads import cpu_threads


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """The tests' tensors are small: one thread is faster (two that wait on each other on a busy
    2-core machine are ten times slower) and adds sums in one order on every machine."""
    with cpu_threads(1):
        yield


# Under pytest-xdist (the README runs `pytest -n auto`), tests that share an expensive session or
# module fixture stay on one worker, which builds it once: the grading tests (the batch of graded
# uploads, the released copy) and the ahead-of-time compiles. Every other test is scheduled on its own.
# (A scheduler of our own rather than xdist_group marks: pytest 9.2 ignores the node-id suffix through
# which pytest-xdist 3.8 implements those.) Lesson runs are shared between workers another way
# (tests/lessons/conftest.py).
SHARED_FIXTURE_GROUPS = {"tests/grading/": "grading", "tests/kernels/test_aot_compile.py": "aot_compile"}


def shared_fixture_group(nodeid: str) -> str:
    """The scheduling unit of a test: its group, or the test itself."""
    return next((group for prefix, group in SHARED_FIXTURE_GROUPS.items() if nodeid.startswith(prefix)), nodeid)


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: without xdist it is never called
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return shared_fixture_group(nodeid)

    return SharedFixtureScheduling(config, log)

