"""Keep the server's memory flat under concurrent photo decoding.

glibc gives each thread that allocates concurrently its own arena (up to 8 per core) and raises its mmap
threshold as large blocks are freed, so decoded photos (several MB each) end up in many arenas that rarely
shrink. Two arenas and a fixed 1 MB mmap threshold return photo buffers to the system as soon as they are
freed. The same effect as MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576, applied from inside the process.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def limit_malloc_arenas(arenas: int = 2, mmap_threshold: int = 1 << 20) -> bool:
    """Apply the limits; False where the C library is not glibc (nothing changes there)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = getattr(libc, "mallopt", None)
    except OSError:
        return False
    if mallopt is None:
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas)) and bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold))
