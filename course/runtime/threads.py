"""How many CPU threads torch uses, for the length of a `with` block."""
import contextlib

import torch


@contextlib.contextmanager
def cpu_threads(count: int | None):
    """Run the block with `count` CPU threads (None: leave torch's setting alone); restore after.

    The course's models are tiny: on them a second thread costs more than it gives (several
    times slower on a busy 2-core machine), and one thread adds sums in one fixed order, so
    results do not depend on the machine's core count.
    """
    previous = torch.get_num_threads()
    if count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
