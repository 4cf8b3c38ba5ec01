"""What the C library of the process offers and Python does not: give freed heap back to the
system, measure the heap in use, die with a parent process.

Only glibc has these; elsewhere each function does nothing (or answers None), and the callers
fall back on estimates.
"""

from __future__ import annotations

import ctypes
from typing import Any


def _load() -> Any:
    try:
        lib = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return None
    if hasattr(lib, "mallinfo2"):  # glibc 2.33 and later
        lib.mallinfo2.restype = _MallInfo2
    return lib


class _MallInfo2(ctypes.Structure):
    _fields_ = [  # the layout of glibc's struct mallinfo2
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


LIBC = _load()


def trim_heap() -> None:
    """Give the free parts of the C heap back to the system (glibc keeps them otherwise, and
    the resident size creeps up as large short-lived structures come and go)."""
    if LIBC is not None:
        LIBC.malloc_trim(0)


def heap_in_use() -> int | None:
    """Bytes of the C heap handed out by malloc and not freed (every arena, and the large
    blocks malloc maps on their own); None where glibc's ``mallinfo2`` is missing.  Cheap (a
    microsecond): it is read before and after each grounding to know its true size."""
    if LIBC is None or not hasattr(LIBC, "mallinfo2"):
        return None
    info = LIBC.mallinfo2()
    return int(info.uordblks) + int(info.hblkhd)


def die_with_parent() -> None:
    """Ask the kernel to kill this process (SIGKILL) when the thread that started it dies."""
    if LIBC is not None:
        pr_set_pdeathsig = 1
        LIBC.prctl(pr_set_pdeathsig, 9, 0, 0, 0)
