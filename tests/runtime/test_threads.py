"""cpu_threads sets torch's thread count for a block and always restores it."""
import pytest
import torch

from course.runtime.threads import cpu_threads


@pytest.mark.parametrize("count", [1, 2])
def test_cpu_threads_sets_and_restores_the_thread_count(count):
    before = torch.get_num_threads()
    with cpu_threads(count):
        assert torch.get_num_threads() == count
    assert torch.get_num_threads() == before


def test_cpu_threads_restores_after_an_error_and_none_leaves_it_alone():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), cpu_threads(1):
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    with cpu_threads(None):
        assert torch.get_num_threads() == before
