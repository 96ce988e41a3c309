"""The progress line on a terminal: how much of the input is read (bytes of bytes, compressed bytes for a
gzip file), the time left at this pace, rows per second, and the rows so far by status.

The run calls the line's `update` as chunks are read and requests complete; it redraws at most ten times a
second. Nothing is shown when standard error is not a terminal (cron, a pipe, a file), nor with
`--no-progress` or `--quiet`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from snapcapi.model import RunReport, Status
from snapcapi.read.open import Source

REDRAW_SECONDS = 0.1
_UPLOAD = (Status.SENT, Status.INVALID, Status.REJECTED, Status.FAILED, Status.SKIPPED)
_VALIDATE = (Status.VALID, Status.INVALID, Status.REJECTED, Status.FAILED, Status.SKIPPED)


def input_bytes(sources: Sequence[Source]) -> tuple[int, int | None]:
    """Return the bytes read so far of `sources` and their total, None when a size is unknown (standard
    input, a pipe); a gzip file counts in compressed bytes."""
    done, total = 0, 0
    known = True
    for source in sources:
        read, size = source.position.bytes_read(), source.position.size
        done += read
        if size is None:
            known = False
        else:
            total += size
    return done, total if known else None


def counts(report: RunReport, *, send: bool) -> str:
    """The rows so far by status, the statuses no row has left out (but sent, or valid, always shown)."""
    shown = _UPLOAD if send else _VALIDATE
    parts = [f"{report.count(s):,} {s.value}" for s in shown if report.count(s) or s is shown[0]]
    return ", ".join(parts)


class ProgressLine:
    """Draws the run's progress on `bar`; `update()` is cheap enough to call for every chunk."""

    def __init__(
        self,
        bar: Progress,
        report: Callable[[], RunReport],
        sources: Sequence[Source],
        *,
        send: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bar = bar
        self._report = report
        self._sources = sources
        self._send = send
        self._clock = clock
        self._started = clock()
        self._next = 0.0
        _, total = input_bytes(sources)
        self._task: TaskID = bar.add_task("starting", total=total)

    def update(self) -> None:
        """Redraw, unless the last redraw was less than `REDRAW_SECONDS` ago."""
        now = self._clock()
        if now < self._next:
            return
        self._next = now + REDRAW_SECONDS
        report = self._report()
        rate = report.rows / max(now - self._started, 1e-6)
        done, total = input_bytes(self._sources)
        description = f"{report.rows:,} rows, {rate:,.0f} rows/s: {counts(report, send=self._send)}"
        self._bar.update(self._task, completed=done, total=total, description=description)


class _StatusColumn(ProgressColumn):
    """What a run is waiting for right now (a retry), read at each refresh; nothing when all is well."""

    def __init__(self, status: Callable[[], str | None]) -> None:
        super().__init__()
        self._status = status

    def render(self, task: Task) -> Text:
        text = self._status()
        return Text(f"· {text}", style="yellow") if text else Text("")


@contextmanager
def progress(
    console: Console,
    report: Callable[[], RunReport],
    sources: Sequence[Source],
    *,
    enabled: bool,
    send: bool,
    status: Callable[[], str | None] | None = None,
) -> Iterator[Callable[[], None] | None]:
    """Yield the `update` of a progress line on `console` (None when not `enabled`, or when the console is
    not a terminal): a bar of the bytes read with the time left when the inputs' sizes are known, and what
    `status()` says at the moment (a wait before a retry), redrawn as the line refreshes."""
    if not enabled or not console.is_terminal:
        yield None
        return
    columns: tuple[ProgressColumn, ...] = (
        SpinnerColumn(),
        BarColumn(bar_width=20),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
    )
    if status is not None:
        columns += (_StatusColumn(status),)
    with Progress(*columns, console=console, transient=True) as bar:
        line = ProgressLine(bar, report, sources, send=send)
        yield line.update
