"""The progress line: bytes read of the input's size (compressed bytes for gzip), rows per second, rows
by status; nothing at all when standard error is not a terminal."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from snapcapi.model import RunReport, Status
from snapcapi.outputs.progress import ProgressLine, counts, input_bytes, progress
from snapcapi.read.open import SourceSpec, open_source


def write_gzip(path: Path, rows: int) -> Path:
    lines = ["event_name,event_time,event_id,email"]
    lines += [f"SIGN_UP,now-1h,id-{i},user{i}@example.com" for i in range(rows)]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return path


def test_a_gzip_file_is_measured_in_compressed_bytes(tmp_path: Path) -> None:
    """Its size is the file's on disk; once read to the end, that many bytes were read."""
    path = write_gzip(tmp_path / "rows.csv.gz", 5000)
    with open_source(SourceSpec(str(path))) as source:
        assert source.position.size == path.stat().st_size
        started, total = input_bytes([source])
        assert total == path.stat().st_size
        assert 0 < started <= total  # the header and a sample are read on opening
        assert sum(1 for _ in source.rows()) == 5000
        assert input_bytes([source]) == (total, total)


def test_standard_input_has_no_size(tmp_path: Path) -> None:
    """A stream's size is unknown: no total, so no bar and no time left, only the counts."""
    stdin = io.BytesIO(b"event_name,email\nSIGN_UP,a@example.com\n")
    with open_source(SourceSpec("-"), stdin=stdin) as source:
        assert source.position.size is None
        assert input_bytes([source]) == (0, None)


def test_the_line_shows_rate_counts_and_bytes(tmp_path: Path) -> None:
    """After 2 s and 3,000 rows: 1,500 rows/s, the rows by status, the bytes read of the total."""
    path = write_gzip(tmp_path / "rows.csv.gz", 100)
    report = RunReport()
    report.count_rows(Status.SENT, "SIGN_UP", 2990)
    report.count_rows(Status.INVALID, "SIGN_UP", 10)
    now = [100.0]
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    with open_source(SourceSpec(str(path))) as source, Progress(console=console) as bar:
        line = ProgressLine(bar, lambda: report, [source], send=True, clock=lambda: now[0])
        now[0] = 102.0
        line.update()
        task = bar.tasks[0]
        assert task.total == path.stat().st_size
        assert task.completed == source.position.bytes_read()
        assert task.description == "3,000 rows, 1,500 rows/s: 2,990 sent, 10 invalid"
        report.count_rows(Status.SENT, "SIGN_UP", 1000)
        now[0] = 102.05  # within a tenth of a second of the last redraw: not redrawn
        line.update()
        assert bar.tasks[0].description.startswith("3,000 rows")


def test_counts_leave_out_statuses_no_row_has() -> None:
    """Validate: `valid` always, the others when a row has them."""
    report = RunReport()
    assert counts(report, send=False) == "0 valid"
    report.count_rows(Status.SKIPPED, None, 2)
    assert counts(report, send=False) == "0 valid, 2 skipped"


def test_nothing_is_shown_when_not_on_a_terminal() -> None:
    """Cron, a pipe or a file: no progress line at all."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=False)
    with progress(console, RunReport, [], enabled=True, send=False) as update:
        assert update is None
    assert out.getvalue() == ""
