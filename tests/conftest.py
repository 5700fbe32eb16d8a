"""Test-session setup shared by every test folder."""
import os

import pytest
import torch

from course.threads import cpu_threads

if not torch.cuda.is_available():
    # Without a GPU Triton runs only in its interpreter, which must be chosen before triton is imported.
    os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """The tests' tensors are small: one thread is faster (two that wait on each other on a busy
    2-core machine are ten times slower) and adds sums in one order on every machine."""
    with cpu_threads(1):
        yield
