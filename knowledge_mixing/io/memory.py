"""Handing freed memory back to the system between batches."""
from __future__ import annotations

import ctypes
import ctypes.util

import pyarrow as pa


def _glibc_malloc_trim():
    """glibc's malloc_trim, where the C library is glibc (the image's is); else None."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _glibc_malloc_trim()


def release_memory() -> None:
    """Hand freed memory back to the system: Arrow's allocator, and glibc's heaps (objects
    unpickled on the pool's threads land in other arenas), would otherwise keep every batch's
    worth, and a pod's memory would grow with the input instead of the batch."""
    pa.default_memory_pool().release_unused()
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
