"""Large arrays served from a heap that keeps freed memory, while a streaming chain runs (glibc only).

glibc maps every allocation above its mmap threshold (at most 32 MB) afresh and unmaps it when freed, so
the kernel zero-fills its pages again at each use. A chain that streams a grid block by block allocates
arrays of that size for every block (a 512-row block of a footprint-wide 10 m grid is 44 MB a float32
band): on a 100 km grid the zero-filling took a quarter of the Sentinel-1 chain's busy CPU time. With mmap
off and freed memory kept (up to 2 GiB at the top of the heap), a freed block's memory serves the next
block's arrays as it is. On other C libraries these settings do not exist and nothing changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
from collections.abc import Iterator

log = logging.getLogger(__name__)

# mallopt parameters and their defaults (glibc's malloc.h and malloc.c)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
DEFAULT_TRIM_THRESHOLD = 128 * 1024
DEFAULT_MMAP_MAX = 65536
KEEP_FREED = 2**31 - 1  # the largest trim threshold mallopt takes: up to 2 GiB free at the heap's top stays


def glibc() -> ctypes.CDLL | None:
    """The process's C library when it is glibc (which has mallopt and malloc_trim), else None."""
    try:
        libc = ctypes.CDLL(None)
    except (OSError, TypeError):  # no C library to load by that name (Windows)
        return None
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return libc


def set_heap_reuse(libc: ctypes.CDLL, reuse: bool) -> bool:
    """Switch large allocations to the untrimmed heap (`reuse`) or back to glibc's defaults; whether glibc took
    both settings."""
    mmap_max, trim = (0, KEEP_FREED) if reuse else (DEFAULT_MMAP_MAX, DEFAULT_TRIM_THRESHOLD)
    return bool(libc.mallopt(M_MMAP_MAX, mmap_max)) and bool(libc.mallopt(M_TRIM_THRESHOLD, trim))


@contextlib.contextmanager
def reused_heap() -> Iterator[bool]:
    """Serve large allocations from a heap that keeps what is freed, for the duration; yields whether it could.

    On leaving, glibc's defaults return and the heap's free memory goes back to the system."""
    libc = glibc()
    active = libc is not None and set_heap_reuse(libc, True)
    if libc is not None and not active:
        log.debug("glibc refused the heap settings: large arrays stay mapped one by one")
    try:
        yield active
    finally:
        if libc is not None and active:
            set_heap_reuse(libc, False)
            libc.malloc_trim(0)
