"""Rows handed on to the outputs in input order, whatever order they settle in.

Upload settles rows out of order: a refused row as it is read, a sent row when its request completes, and
requests in the order they complete. `InputOrder` keeps each chunk of rows from the moment it is read and
hands chunks on from the front only, each once every row of it has its outcome: a row waits while an
earlier row is in flight, and no longer than its chunk does. What waits is bounded by what delivery has in
flight (its concurrency times its batch size), so memory stays flat however long the input.

Handing a chunk on writes its report records and rejects lines as the workers encoded them (`records`),
encoding again only the rows whose outcome was not the one the worker assumed, and gives each row's
outcome to the sinks, when there are any.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from snapcapi.errors import OutputError
from snapcapi.model import EncodedEvent, Row, RowOutcome, Status, outcome_of
from snapcapi.read.blocks import Block
from snapcapi.read.open import Source
from snapcapi.run.chunks import Encoded
from snapcapi.run.records import RejectsEncoder, RejectsOutput, ReportEncoder, ReportOutput, reasons

# A row's outcome, the source it came from, and the row itself (for the rejects file).
Sink = Callable[[RowOutcome, Source, Row], None]
_REFUSED = (Status.INVALID, Status.REJECTED)


class Settling:
    """One chunk of rows, from when it is read to when every row of it has its outcome."""

    __slots__ = ("block", "encoded", "items", "overrides", "rows", "source", "waiting")

    def __init__(
        self,
        source: Source,
        rows: list[Row] | None,
        block: Block | None,
        items: list[EncodedEvent | RowOutcome],
        encoded: Encoded | None,
    ) -> None:
        self.source = source
        self.rows = rows  # the rows as read, when the main process has them
        self.block = block  # else the text they were parsed from
        self.items = items  # each row's event, or its INVALID outcome
        self.encoded = encoded
        # Rows whose outcome is not the one their encoded record assumed, by place in the chunk.
        self.overrides: dict[int, RowOutcome] = {}
        self.waiting = 0  # events in flight


class InputOrder:
    """Hands chunks on in input order, each once all its rows have their outcomes.

    `default` is the status the records of valid rows were encoded with (VALID, or SENT for an upload).
    """

    def __init__(
        self,
        default: Status,
        *,
        report: ReportOutput | None = None,
        rejects: RejectsOutput | None = None,
        sinks: Sequence[Sink] = (),
        failed: Callable[[Exception], None] = lambda err: None,
    ) -> None:
        """`failed` is told of an output that could not be written (a full disk); it gets no more rows."""
        self.default = default
        self._failed = failed
        self.report = report
        self.rejects = rejects
        self.sinks = sinks
        self._report = None if report is None else ReportEncoder(report.format)
        self._rejects_for: dict[Source, RejectsEncoder] = {}
        self._chunks: deque[Settling] = deque()  # oldest first
        self._in_flight: dict[tuple[str, int], tuple[Settling, int]] = {}

    def __len__(self) -> int:
        """Chunks waiting to be handed on."""
        return len(self._chunks)

    def add(self, chunk: Settling, sent: Sequence[tuple[int, EncodedEvent]] = ()) -> None:
        """Take a chunk as read, with the events of it that go to delivery (by their place in it); hand
        on every chunk now settled."""
        chunk.waiting = len(sent)
        self._chunks.append(chunk)
        if sent:
            self._in_flight.update(((e.file, e.line), (chunk, i)) for i, e in sent)
        else:
            self.flush()

    def outcome(self, outcome: RowOutcome) -> None:
        """Take the outcome of an event given to `add` (call `flush` after a group of them)."""
        chunk, index = self._in_flight.pop((outcome.file, outcome.line))
        chunk.waiting -= 1
        event = chunk.items[index]
        if outcome.status is not self.default or outcome.errors or outcome.warnings != event.warnings:
            chunk.overrides[index] = outcome

    def flush(self) -> None:
        """Hand on the chunks at the front that have all their outcomes."""
        chunks = self._chunks
        while chunks and not chunks[0].waiting:
            self._hand_on(chunks.popleft())

    def _hand_on(self, chunk: Settling) -> None:
        count = len(chunk.items)
        report, rejects = chunk.encoded if chunk.encoded is not None else (None, {})
        overrides = chunk.overrides
        if self.report is not None and self._report is not None and report is not None:
            if len(report) > count:
                report = report[:count]  # rows read ahead beyond a stop are not reported
            if overrides:
                report = list(report)
                for index, outcome in overrides.items():
                    report[index] = self._report.outcome(outcome)
            try:
                self.report.write_records(b"".join(report))
            except OutputError as err:  # the writer dropped its file
                self.report = None
                self._failed(err)
        if self.rejects is not None:
            try:
                self._write_rejects(chunk, rejects, count)
            except OutputError as err:
                self.rejects = None
                self._failed(err)
        if self.sinks:
            self._give_sinks(chunk)

    def _write_rejects(self, chunk: Settling, lines: dict[int, bytes], count: int) -> None:
        assert self.rejects is not None
        refused = [(i, o) for i, o in chunk.overrides.items() if o.status in _REFUSED]
        if chunk.source.preset is not None:  # the workers had prepared values, not the rows as read
            refused += [
                (i, item)
                for i, item in enumerate(chunk.items)
                if isinstance(item, RowOutcome) and item.status is Status.INVALID
            ]
        if refused or any(index >= count for index in lines):
            lines = {index: line for index, line in lines.items() if index < count}
            rows = chunk.rows if chunk.rows is not None else self._parsed(chunk)
            encoder = self._encoder(chunk.source)
            for index, outcome in refused:
                lines[index] = encoder.row(rows[index], chunk.source.columns, reasons(outcome.errors))
            lines = dict(sorted(lines.items()))
        if lines:
            self.rejects.write_records(chunk.source, b"".join(lines.values()), len(lines))

    def _encoder(self, source: Source) -> RejectsEncoder:
        assert self.rejects is not None
        encoder = self._rejects_for.get(source)
        if encoder is None:
            encoder = self._rejects_for[source] = RejectsEncoder(self.rejects.format_for(source))
        return encoder

    def _parsed(self, chunk: Settling) -> list[Row]:
        """The rows of a chunk the workers parsed, parsed again (rare: a row refused by Snap)."""
        layout = chunk.source.layout
        assert layout is not None, "a chunk is rows read here, or a block of a file with a layout"
        assert chunk.block is not None, "a chunk is rows read here, or a block"
        return layout.rows(chunk.block)

    def _give_sinks(self, chunk: Settling) -> None:
        assert chunk.rows is not None, "rows are read back whenever there are sinks"
        overrides, default, source = chunk.overrides, self.default, chunk.source
        for index, (item, row) in enumerate(zip(chunk.items, chunk.rows, strict=False)):
            if isinstance(item, RowOutcome):
                outcome = item
            else:
                outcome = overrides.get(index) or outcome_of(item, default)
            for sink in self.sinks:
                try:
                    sink(outcome, source, row)
                except OutputError as err:  # the sink dropped its file: it gets no more rows
                    self.sinks = [s for s in self.sinks if s is not sink]
                    self._failed(err)
