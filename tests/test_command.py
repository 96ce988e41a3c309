"""Tests of snapcapi.command's process settings (the rest of it is tested through the CLI)."""

from __future__ import annotations

import platform
import sys

import pytest

from snapcapi.command import one_malloc_arena


@pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="a glibc setting")
def test_glibc_takes_the_one_arena_setting() -> None:
    """mallopt accepts M_ARENA_MAX (it answers 0 for a setting it does not know)."""
    assert one_malloc_arena() is True
