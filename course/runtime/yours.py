"""In the student copy, library functions that an exercise asks for run on the student's own code.

The course's library computes some of the things the exercises ask students to write (im2col,
conv2d, the receptive-field recurrence, ...). The student copy holds no working answer, so there
those library functions call the student's exercise function once it is written, and torch's own
implementation until then (see course/grading/release.py). Only the student copy calls this.
"""
from __future__ import annotations

import sys

_announced = set()


def yours_or_torch(yours, torch_version, *args, **kwargs):
    """yours(*args, **kwargs) once the student has written it, else torch_version(*args, **kwargs).

    "Written" means: calling it does not raise the stub's NotImplementedError. Any other error of
    the student's code propagates, so a lesson shows it rather than quietly using torch.
    """
    try:
        result = yours(*args, **kwargs)
    except NotImplementedError:
        return torch_version(*args, **kwargs)
    name = f"{yours.__module__}.{yours.__qualname__}"
    if name not in _announced:
        _announced.add(name)
        print(f"(the lessons now use your {name})", file=sys.stderr)
    return result
