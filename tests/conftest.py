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
