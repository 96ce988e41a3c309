"""Tests of snapcapi.command's process settings (the rest of it is tested through the CLI)."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

# Run in a fresh process: a thread allocates from malloc (600-byte objects are past Python's own small
# object allocator), then glibc's malloc_info lists the arenas ("heaps") the process has.
_ARENAS = """
import ctypes, sys, threading
from snapcapi.command import one_malloc_arena
if sys.argv[1] == "one":
    assert one_malloc_arena()
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


def arenas(tmp_path: Path, mode: str) -> int:
    info = tmp_path / f"{mode}.xml"
    subprocess.run([sys.executable, "-c", _ARENAS, mode, str(info)], check=True, timeout=60)
    return info.read_text().count("<heap nr=")


@pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_one_malloc_arena_keeps_threads_in_the_main_arena(tmp_path: Path) -> None:
    """Without the setting a thread gets an arena of its own; with it, every thread shares one."""
    assert arenas(tmp_path, "default") >= 2
    assert arenas(tmp_path, "one") == 1
