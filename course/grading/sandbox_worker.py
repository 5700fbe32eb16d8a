"""The sandbox process: loads one exercise module of a submission and runs calls to it.

Started by `sandbox.py` with one end of a socket. Messages both ways are `torch.save`d
tuples; the worker answers every call with {"ok": True, "value": ...} or the exception's
type, message and traceback. Student code runs only here.
"""
import ctypes
import io
import importlib
import importlib.util
import os
import signal
import sys
import traceback
from multiprocessing.connection import Connection

import torch

from course.grading.sandbox import pack

ALLOWED_RESULT_TYPES = (torch.Tensor, int, float, bool, str, type(None), torch.Size)


def die_with_parent():
    """Linux: if the test process dies, so does this worker (no orphan stuck in a student's loop)."""
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def forbid(dotted: str, exercise: str):
    """Replace a function (e.g. torch.nn.functional.conv2d) by one that refuses to run."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:-1]:
            owner = getattr(owner, attribute)
        break
    else:
        raise ValueError(f"cannot forbid {dotted}: no such module")

    def refuse(*args, **kwargs):
        raise RuntimeError(f"{exercise} must not call {dotted}: write the computation yourself")

    setattr(owner, parts[-1], refuse)


def load(exercise: str, path: str, forbidden):
    for dotted in forbidden:
        forbid(dotted, exercise)
    spec = importlib.util.spec_from_file_location(f"submission_{exercise}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def check_result(value, name):
    """Only what the test process can rebuild safely: tensors, numbers, strings, and containers of them."""
    if isinstance(value, (tuple, list)):
        for item in value:
            check_result(item, name)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_result(key, name)
            check_result(item, name)
    elif not isinstance(value, ALLOWED_RESULT_TYPES):
        raise TypeError(f"{name} returned a {type(value).__module__}.{type(value).__qualname__}; "
                        "expected a torch.Tensor, a number, or a tuple/list/dict of them")


def error_reply(error: BaseException, skip_frames: int = 1):
    frames = traceback.extract_tb(error.__traceback__)[skip_frames:]
    return {
        "ok": False,
        "type": type(error).__name__,
        "message": str(error)[:2000],
        "traceback": "".join(traceback.format_list(frames))[-4000:],
    }


def serve(connection: Connection):
    module = None
    while True:
        try:
            message = torch.load(io.BytesIO(connection.recv_bytes()), weights_only=False)  # from the trusted side
        except EOFError:
            return
        kind = message[0]
        try:
            if kind == "load":
                _, exercise, path, forbidden, folder = message
                try:
                    os.chdir(folder)  # relative paths in student code mean their own folder
                    module = load(exercise, path, forbidden)
                    reply = {"ok": True}
                except FileNotFoundError:
                    reply = {"ok": False, "error": f"the submission has no file {path}"}
                except BaseException as error:  # SystemExit too: a module that exits on import
                    detail = error_reply(error)
                    reply = {"ok": False, "error": f"importing {exercise} failed: {detail['type']}: "
                                                   f"{detail['message']}\n{detail['traceback']}"}
            else:
                _, name, args, kwargs = message
                try:
                    function = getattr(module, name, None)
                    if not callable(function):
                        raise AttributeError(f"the submission's module has no function {name}")
                    value = function(*args, **kwargs)
                    check_result(value, name)
                    reply = {"ok": True, "value": value}
                except BaseException as error:  # SystemExit and KeyboardInterrupt are the student's too
                    reply = error_reply(error)
            data = pack(reply)
        except BaseException as error:  # a reply that cannot be packed
            data = pack({"ok": False, "type": type(error).__name__, "message": str(error)[:2000], "traceback": ""})
        connection.send_bytes(data)


if __name__ == "__main__":
    die_with_parent()
    serve(Connection(int(sys.argv[1])))
