"""How snapcapi's processes manage memory: glibc's malloc settings, and the garbage collector's.

`tune_malloc()`, for the main process and the workers that build events. A run allocates and frees the
same few megabytes over and over: a chunk's rows, their dicts, their request bodies. Out of the box, glibc
hands memory back to the kernel as soon as 128 KiB lie free at the top of the heap (and serves blocks of
128 KiB or more with mmap), so the next chunk faults the same pages in again, zeroed by the kernel: about
half a page fault a row in a worker building bodies. `tune_malloc()` keeps up to `TRIM_THRESHOLD` free
for reuse and takes blocks under `MMAP_THRESHOLD` (a request body is one or two MB) from the heap. It
costs nothing at the peak, which is what the memory target measures: the memory kept is memory the
process held a moment before.

Also one arena for all threads (as MALLOC_ARENA_MAX=1 would): glibc gives threads that allocate at once
arenas of their own, and an arena keeps what was freed in it. Upload's delivery threads each build request
bodies, so their arenas held about 10 MB that the process no longer used (measured on a 1M-row upload).
Python's threads take turns under the GIL anyway: more arenas buy nothing here. Elsewhere than on glibc,
`tune_malloc()` does nothing.

`collect_less()`, for processes that make many short-lived objects and few reference cycles (a worker,
the emulator, which parses thousands of events a second): out of the box, Python collects the youngest
generation every 700 allocations.
"""

from __future__ import annotations

import ctypes
import gc
from typing import Final

TRIM_THRESHOLD: Final = 8 * 1024 * 1024  # bytes free at the top of the heap before any is given back
MMAP_THRESHOLD: Final = 4 * 1024 * 1024  # blocks this big or bigger get an mmap of their own
GC_THRESHOLD: Final = 50_000  # allocations between collections of the youngest generation

# glibc's <malloc.h>
_M_TRIM_THRESHOLD: Final = -1
_M_MMAP_THRESHOLD: Final = -3
_M_ARENA_MAX: Final = -8


def tune_malloc() -> bool:
    """Apply the settings of the module docstring to this process; return True if glibc took them all."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library to ask, or no mallopt in it (macOS)
        return False
    settings = ((_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_ARENA_MAX, 1))
    # mallopt returns 1 on success, 0 for a setting it does not know; a list, so that each one is tried.
    return all([bool(mallopt(option, value)) for option, value in settings])


def collect_less() -> None:
    """Collect the youngest generation every `GC_THRESHOLD` allocations, the older ones less often too,
    and never look again at what the process holds now (modules, metadata)."""
    gc.set_threshold(GC_THRESHOLD, 20, 100)
    gc.freeze()
