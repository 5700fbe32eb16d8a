"""One torch thread for these tests: their tensors are small, and on a busy shared machine two
threads that wait for each other make them ten times slower, not faster."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
