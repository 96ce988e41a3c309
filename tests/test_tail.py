"""A last line without its end, in a file that changed while it was read, is held back for a later run."""

from __future__ import annotations

import io
import itertools
import json
import os
import threading
import time
from pathlib import Path

import pytest

from snapcapi.read.open import SourceSpec, open_source
from snapcapi.read.tail import HeldTail
from tests.conftest import HEADER as ROW_HEADER
from tests.conftest import Invoke, crashed, purchase, write_csv

HEADER = "event_id,event_name,value,currency\n"


def _bytes(path: Path) -> tuple[HeldTail, io.BufferedReader]:
    raw = path.open("rb")
    return HeldTail(raw, raw.fileno(), str(path)), raw


def test_a_cut_off_last_line_of_a_file_that_changed_is_held_back(tmp_path: Path) -> None:
    """The file changes (a writer appends) while it is read: its unterminated last line is not passed on,
    and the warning names it."""
    path = tmp_path / "export.csv"
    path.write_bytes(HEADER.encode() + b"a,PURCHASE,15.50,USD\nb,PURCHASE,1")
    tail, raw = _bytes(path)
    with raw:
        first = tail.read(8)
        with path.open("ab") as writer:  # the export goes on being written meanwhile, after what was read
            writer.write(b"")
        os.utime(path, ns=(0, 1))  # changed (its modification time), as a writer's next flush would
        rest = b"".join(iter(lambda: tail.read(8), b""))
    assert first + rest == HEADER.encode() + b"a,PURCHASE,15.50,USD\n"
    assert tail.warnings == [
        f"{path}: line 3 has no end yet and the file changed while it was read (it is still being"
        " written?): that line is left for a later run to send"
    ]


def test_a_file_that_stood_still_is_read_whole_without_a_final_newline(tmp_path: Path) -> None:
    """Many exports end without a newline: a file that did not change is read whole, as before."""
    path = tmp_path / "export.csv"
    content = HEADER.encode() + b"a,PURCHASE,15.50,USD\nb,PURCHASE,1.00,USD"
    path.write_bytes(content)
    tail, raw = _bytes(path)
    with raw:
        read = b"".join(iter(lambda: tail.read(7), b""))
    assert read == content
    assert tail.warnings == []


def test_a_growing_export_sends_its_last_row_only_once_it_is_whole(tmp_path: Path) -> None:
    """Through open_source: a file larger than the sample read at open, its last row cut off while it is
    written; the rows read stop before it, and the source carries the warning for the report."""
    path = tmp_path / "export.csv"
    rows = [f"ord-{i},PURCHASE,15.50,USD\n" for i in range(20_000)]
    path.write_text(HEADER + "".join(rows) + "ord-20000,PURCHASE,1")
    source = open_source(SourceSpec(str(path)))
    with source:
        os.utime(path, ns=(0, 1))  # the writer touched it after the run opened it
        read = [row.data["event_id"] for row in source.rows()]
    assert len(read) == 20_000
    assert read[-1] == "ord-19999"
    assert source.warnings
    assert "line 20002 has no end yet" in source.warnings[0]


def test_a_named_pipe_names_the_line_held_back_too(tmp_path: Path) -> None:
    """A named pipe cannot be read again to count its lines: they are counted as they pass, and the
    line held back is named alike."""
    path = tmp_path / "export.fifo"
    os.mkfifo(path)
    opened = threading.Event()

    def write() -> None:
        with path.open("wb") as writer:
            opened.wait(10)
            time.sleep(0.05)  # after the reader's first look at the pipe: its modification time moves on
            writer.write(HEADER.encode() + b"a,PURCHASE,15.50,USD\nb,PURCHASE,1")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        tail, raw = _bytes(path)
        opened.set()
        with raw:
            read = b"".join(iter(lambda: tail.read(8), b""))
    finally:
        opened.set()
        writer.join()
    assert read == HEADER.encode() + b"a,PURCHASE,15.50,USD\n"
    assert [warning.split(": ", 1)[1][:25] for warning in tail.warnings] == ["line 3 has no end yet and"]


def test_the_run_reports_the_line_it_held_back(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the command line: the row held back is in no status, so the run must say so (the human
    report and `warnings` in --json), or the row would vanish from the counts without a word."""
    path = write_csv(tmp_path / "export.csv", ROW_HEADER, [purchase(i) for i in range(3)])
    with path.open("a") as out:
        out.write("ord-3,PURCHASE,now-2h,x@example.com,+1 415 555 0003,Jane,1")  # cut off while written
    changes = itertools.count()
    monkeypatch.setattr(HeldTail, "_stat", lambda self: (next(changes), 0))  # changed at every look
    result = invoke(
        "validate", str(path), "--conversion-type", "OFFLINE", "--pixel-id", "px-1", "--no-progress", "--json"
    )
    assert crashed(result) is None, result.exception
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["valid"]) == (3, 3)
    assert [w.split(": ", 1)[1][:21] for w in summary["warnings"]] == ["line 5 has no end yet"]
    assert (
        "line 5 has no end yet"
        in invoke("validate", str(path), "--conversion-type", "OFFLINE", "--pixel-id", "px-1").stderr
    )


def test_a_file_cut_short_while_read_names_no_wrong_line(tmp_path: Path) -> None:
    """The file shrinks (truncated, or rewritten) after its lines were passed on: the lines passed can no
    longer be counted in it, so the warning says "its last line" rather than a wrong number (line 4)."""
    path = tmp_path / "export.csv"
    rows = [f"ord-{i},PURCHASE,15.50,USD\n" for i in range(1000)]
    whole = HEADER.encode() + "".join(rows).encode()
    path.write_bytes(whole + b"ord-1000,PURCHASE,1")
    tail, raw = _bytes(path)
    with raw:
        read = b""
        while len(read) < len(whole):
            read += tail.read(4096)
        os.truncate(path, 100)  # cut short under the reader, after 1,001 lines were passed on
        assert tail.read(4096) == b""
    assert read == whole
    assert len(tail.warnings) == 1
    assert tail.warnings[0].startswith(f"{path}: its last line (the file shrank meanwhile) has no end yet")
