"""Tests of snapcapi.outputs.atomic: whole files or none, owner-only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from snapcapi.outputs.atomic import AtomicFile, atomic_writer


def test_atomic_writer_replaces_the_file_when_the_block_succeeds(tmp_path: Path) -> None:
    """The new content is in place once the block ends, and no temporary file remains."""
    path = tmp_path / "report.jsonl"
    path.write_text("old\n")
    with atomic_writer(path) as out:
        out.write("new\n")
        assert path.read_text() == "old\n"
    assert path.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.jsonl"]


def test_atomic_writer_keeps_the_old_file_when_the_block_raises(tmp_path: Path) -> None:
    """An exception drops the new content and its temporary file; the old file is untouched."""
    path = tmp_path / "report.jsonl"
    path.write_text("old\n")

    def write_then_fail() -> None:
        with atomic_writer(path) as out:
            out.write("half")
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.jsonl"]


def test_written_file_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    """The file is 0600 even with a permissive umask."""
    path = tmp_path / "out.csv"
    previous = os.umask(0)
    try:
        with atomic_writer(path) as out:
            out.write("x")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_temporary_file_is_hidden_in_the_destination_directory(tmp_path: Path) -> None:
    """The rename is atomic only within one file system: the temporary file sits next to the destination."""
    atomic = AtomicFile(tmp_path / "out.csv")
    try:
        (temp,) = list(tmp_path.iterdir())
        assert temp.name.startswith(".out.csv.")
        assert temp.name.endswith(".tmp")
        assert stat.S_IMODE(temp.stat().st_mode) == 0o600
    finally:
        atomic.discard()


def test_commit_and_discard_after_commit_do_nothing(tmp_path: Path) -> None:
    """commit() and discard() are idempotent once the file is committed."""
    atomic = AtomicFile(tmp_path / "out.txt")
    atomic.file.write("done")
    atomic.commit()
    atomic.commit()
    atomic.discard()
    assert (tmp_path / "out.txt").read_text() == "done"


def test_newline_defaults_to_no_translation(tmp_path: Path) -> None:
    """Line endings are written as given, as the csv module needs."""
    with atomic_writer(tmp_path / "out.csv") as out:
        out.write("a\r\nb\n")
    assert (tmp_path / "out.csv").read_bytes() == b"a\r\nb\n"


@pytest.mark.parametrize(
    ("make", "error"), [("directory", IsADirectoryError), ("missing", FileNotFoundError)]
)
def test_unusable_destination_fails_before_anything_is_written(
    tmp_path: Path, make: str, error: type[OSError]
) -> None:
    """A destination that is a directory, or in a missing directory, raises OSError at once."""
    path = tmp_path / "target" if make == "directory" else tmp_path / "missing" / "out.csv"
    if make == "directory":
        path.mkdir()
    with pytest.raises(error):
        AtomicFile(path)


def test_a_killed_process_leaves_the_destination_whole(tmp_path: Path) -> None:
    """A process that dies mid-write (no cleanup at all) leaves the old file as it was."""
    path = tmp_path / "out.csv"
    path.write_text("complete old file\n")
    script = (
        "import os, sys\n"
        "from snapcapi.outputs.atomic import AtomicFile\n"
        "f = AtomicFile(sys.argv[1])\n"
        "f.file.write('partial' * 1000)\n"
        "f.file.flush()\n"
        "os._exit(9)\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(path)], check=False)
    assert result.returncode == 9
    assert path.read_text() == "complete old file\n"


def test_leftovers_of_killed_writers_are_removed_by_the_next_writer(tmp_path: Path) -> None:
    """Temporary files a killed run left next to the report go when the report is written again; one
    still being written (locked) stays, and so does any other file."""
    target = tmp_path / "report.jsonl"
    dead = [tmp_path / f".report.jsonl.{name}.tmp" for name in ("ab12cd34", "zz_9yy8x")]
    for path in dead:
        path.write_text("half a report")
    other = tmp_path / ".report.jsonl.backup.tmp"
    other.write_text("not ours")
    with AtomicFile(target) as writing:  # a run still writing: its temporary file is locked
        writing.file.write("first")
        alive = writing.temporary
        assert alive is not None
        assert [p.exists() for p in dead] == [False, False]
        with atomic_writer(target) as out:  # another writer meanwhile leaves the live one alone
            out.write("second")
        assert alive.exists()
    assert target.read_text() == "first"
    assert other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".report.jsonl.backup.tmp", "report.jsonl"]
