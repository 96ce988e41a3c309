"""Tests of snapcapi.run.memory: each setting by its effect, in a fresh process."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from snapcapi.run.memory import GC_THRESHOLD, MMAP_THRESHOLD, TRIM_THRESHOLD

_LIBC, _LIBC_VERSION = platform.libc_ver()
glibc = pytest.mark.skipif(sys.platform != "linux" or _LIBC != "glibc", reason="a glibc setting")
# The heap tests read glibc's mallinfo2, which came with glibc 2.33.
mallinfo2 = pytest.mark.skipif(
    _LIBC != "glibc" or tuple(int(part) for part in _LIBC_VERSION.split(".")[:2]) < (2, 33),
    reason="needs glibc's mallinfo2 (2.33 or later)",
)

# A thread allocates from malloc (600-byte objects are past Python's own small object allocator), then
# glibc's malloc_info lists the arenas ("heaps") the process has.
_ARENAS = """
import ctypes, sys, threading
from snapcapi.run import memory
if sys.argv[1] == "tuned":
    assert memory.tune_malloc()
kept = []
thread = threading.Thread(target=lambda: kept.extend(bytes(600) for _ in range(2000)))
thread.start()
thread.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
out = libc.fopen(sys.argv[2].encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(out))
libc.fclose(ctypes.c_void_p(out))
"""

# Frees a few MB of 1000-byte blocks, then holds one block of 1 MB; prints what glibc's mallinfo2 says:
# the free bytes at the top of the heap that could be given back (keepcost) after the frees, and how many
# more blocks have an mmap of their own (hblks) once the 1 MB block is held.
_HEAP = """
import ctypes, json, sys
from snapcapi.run import memory
if sys.argv[1] == "tuned":
    assert memory.tune_malloc()
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
        "keepcost")]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
blocks = [bytes(1000) for _ in range(int(sys.argv[2]) // 1000)]
del blocks
after = libc.mallinfo2()
body = bytes(1024 * 1024)
print(json.dumps({"keepcost": after.keepcost, "mmaps": libc.mallinfo2().hblks - after.hblks}))
"""


def arenas(tmp_path: Path, mode: str) -> int:
    info = tmp_path / f"{mode}.xml"
    subprocess.run([sys.executable, "-c", _ARENAS, mode, str(info)], check=True, timeout=60)
    return info.read_text().count("<heap nr=")


def heap(mode: str, freed: int) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _HEAP, mode, str(freed)],
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    result: dict[str, int] = json.loads(done.stdout)
    return result


@glibc
def test_one_arena_keeps_threads_in_the_main_arena(tmp_path: Path) -> None:
    """Without the setting a thread gets an arena of its own; with it, every thread shares one."""
    assert arenas(tmp_path, "default") >= 2
    assert arenas(tmp_path, "tuned") == 1


@glibc
@mallinfo2
def test_freed_memory_is_kept_for_reuse_up_to_the_trim_threshold() -> None:
    """Out of the box glibc gives back what lies free at the top of the heap past 128 KiB; tuned, it keeps
    what was freed (here 4 MB, under TRIM_THRESHOLD), for the next chunk to reuse without page faults."""
    freed = 4_000_000
    assert freed < TRIM_THRESHOLD
    assert heap("default", freed)["keepcost"] < 256 * 1024
    assert heap("tuned", freed)["keepcost"] >= freed * 0.9


@glibc
@mallinfo2
def test_request_sized_blocks_come_from_the_heap() -> None:
    """A block of 1 MB (a request body) gets an mmap of its own out of the box, not once tuned."""
    assert MMAP_THRESHOLD > 1024 * 1024
    assert heap("default", 0)["mmaps"] == 1
    assert heap("tuned", 0)["mmaps"] == 0


def test_collect_less_collects_the_youngest_generation_less_often_and_freezes_the_rest() -> None:
    """A worker or emulator process: a collection every GC_THRESHOLD allocations, what it held frozen."""
    code = (
        "import gc, json; from snapcapi.run import memory; memory.collect_less();"
        " print(json.dumps([gc.get_threshold()[0], gc.get_freeze_count()]))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, timeout=60, capture_output=True)
    threshold, frozen = json.loads(done.stdout)
    assert threshold == GC_THRESHOLD > 700
    assert frozen > 0
