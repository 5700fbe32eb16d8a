"""Whether the C++ extension of `kernels` is already compiled, so a quick run can skip what would build it.

The extension compiles on first use (about a minute); lessons 06 and 07 time the cpp backend
in a quick run only when it is already built.
"""
from __future__ import annotations

from kernels import extension


def cpp_extension_built() -> bool:
    """True when the compiled C++ extension is in its cache and newer than every C++ source."""
    library = extension.build_directory() / f"{extension.NAME}.so"
    if not library.exists():
        return False
    newest_source = max(p.stat().st_mtime for p in extension.CSRC.rglob("*") if p.is_file())
    return library.stat().st_mtime >= newest_source
