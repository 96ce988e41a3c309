"""The pipeline: sources -> mapping -> events -> duplicates and ledger -> delivery -> outcomes.

`run` ties the stages together and is the library's entry point: it needs no terminal, and reports every
row's outcome to the sinks it is given (report files, rejects, a progress bar) in input order, as soon as
every earlier row has its own. Rows stream through in chunks; nothing holds a whole file.

Upload settles rows out of order: a refused row at once, a sent row when its request completes, requests
in the order they complete. A row's outcome waits in `order.InputOrder` only while an earlier row is still in
flight, so what waits is bounded by what delivery has in flight (its concurrency times its batch size, and
the rows read between those events), however long the input.

Building events (mapping, checks, normalizing, hashing, JSON) is the costly part: `parallel` does it in
worker processes, chunk by chunk, and hands the results back in input order; this module keeps the rest
(reading, counting, duplicates, the ledger, delivery and the outcomes) in the calling process, row by
row, so that every outcome is what a one-process run gives, line numbers and all.
"""

from __future__ import annotations

import gc
import threading
from bisect import insort
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from snapcapi.events.build import BuildContext
from snapcapi.events.mapping import Mapper
from snapcapi.model import (
    FAILURE_SAMPLE,
    PROBLEM_STATUSES,
    EncodedEvent,
    Problem,
    Row,
    RowOutcome,
    RunReport,
    Status,
    outcome_of,
)
from snapcapi.read.blocks import Block
from snapcapi.read.open import Source
from snapcapi.run import memory
from snapcapi.run.chunks import Chunk, Encoded, read_chunks
from snapcapi.run.dedupe import SeenIds
from snapcapi.run.order import InputOrder, Settling
from snapcapi.run.order import Sink as Sink  # where callers have found it
from snapcapi.run.quality import count_user_keys
from snapcapi.run.records import Encoding, RejectsOutput, ReportOutput
from snapcapi.run.repeats import Repeats
from snapcapi.run.stops import output_failed, record_all, settle_stop
from snapcapi.run.workers import ChunkPool, default_workers
from snapcapi.send.ledger import Ledger


class Sender(Protocol):
    """What the pipeline needs of delivery (`delivery.Delivery`)."""

    @property
    def stopped_by(self) -> Exception | None:
        """Why Snap stopped the run (credentials refused), if it did."""
        ...

    @property
    def requests(self) -> int:
        """How many requests were sent."""
        ...

    def deliver_batches(self, events: Iterable[EncodedEvent]) -> Iterator[list[RowOutcome]]:
        """Yield the outcomes of each request as it completes; every event yields exactly one outcome."""
        ...

    def stop(self, reason: str | None = None) -> None:
        """Stop taking events; finish what is in flight. `reason`: why, for the events not sent."""
        ...


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How the pipeline runs, besides where it sends."""

    limit: int | None = None  # read at most this many rows in all
    max_invalid: float | None = None  # stop when this share of the rows read so far is invalid
    min_sample: int = 100  # rows to read before --max-invalid can stop the run
    resend: bool = False  # ignore the ledger's record of earlier deliveries
    record: bool = True  # write deliveries to the ledger (off for test events)
    chunk_size: int = 1000
    # Processes building events: 1 (the default), this process only; None, one per CPU (what the command
    # line does). Worker processes re-import the main module: a script needs `if __name__ == "__main__":`.
    workers: int | None = 1


class _Batch(NamedTuple):
    """One chunk's records as the main process has them, in input order."""

    source: Source
    rows: list[Row] | None  # the rows as read here or for the sinks; None when only a worker has them
    block: Block | None  # the text a worker parsed the rows from
    items: list[EncodedEvent | RowOutcome]  # each record's event, or its outcome
    events: list[tuple[int, EncodedEvent]]  # the events, with their places in `items`
    settled: list[RowOutcome]  # the outcomes of the rows that are not events (INVALID mostly), in order
    encoded: Encoded | None  # the records the workers encoded for the outputs


@dataclass
class _State:
    """Mutable bookkeeping of one run, kept on the main thread."""

    report: RunReport = field(default_factory=RunReport)
    read: int = 0
    invalid: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    # Rows by their user_data keys, folded into the report's quality counts at the end (one count per
    # row here, instead of one per key).
    user_keys: dict[tuple[str, ...], int] = field(default_factory=dict)


class Run:
    """One run of the pipeline. Call `execute()`; `stop()` may be called from a signal handler."""

    def __init__(
        self,
        sources: Sequence[Source],
        mapper: Mapper,
        ctx: BuildContext,
        *,
        sender: Sender | None = None,
        ledger: Ledger | None = None,
        options: RunOptions | None = None,
        sinks: Sequence[Sink] = (),
        report: ReportOutput | None = None,
        rejects: RejectsOutput | None = None,
    ) -> None:
        """`sinks` are given each row's outcome, in input order. `report` and `rejects` take the rows'
        report records and refused rows as bytes, in input order, encoded by the workers."""
        self.sources = sources
        self.mapper = mapper
        self.ctx = ctx
        self.sender = sender
        self.ledger = ledger
        self.options = options or RunOptions()
        self.sinks = sinks
        self.state = _State()
        self._outputs = (report, rejects)
        # Called as chunks are read and requests complete (a progress line; it keeps its own pace).
        self.progress: Callable[[], None] | None = None
        self._repeats = Repeats(None, None, False, self.report.quality)  # made again by execute
        self._order: InputOrder | None = None
        # Each source's place in the input, by name: with the line, a row's place (for the report's
        # sample of failures when no sink sees the rows in order).
        self._places: dict[str, int] = {}
        for index, source in enumerate(sources):
            self._places.setdefault(source.name, index)
        workers = self.options.workers
        self._default = Status.VALID if sender is None else Status.SENT
        encoding = None
        if (report is not None or rejects is not None) and sources:
            encoding = Encoding(
                None if report is None else report.format,
                self._default,
                None if rejects is None else rejects.format_for(sources[0]),
            )
        # Without a sender no event is sent: its JSON is not made.
        self.pool = ChunkPool(
            mapper,
            ctx,
            default_workers() if workers is None else workers,
            bodies=sender is not None,
            encoding=encoding,
        )

    @property
    def report(self) -> RunReport:
        """The report so far (complete once `execute` returns)."""
        return self.state.report

    def stop(self) -> None:
        """Stop reading; requests in flight finish and are recorded. Safe to call from a signal handler."""
        self.state.stop.set()
        self.state.report.interrupted = True
        if self.sender is not None:
            self.sender.stop()

    def execute(self) -> RunReport:
        """Run every row to one outcome and return the report."""
        seen = SeenIds()
        self._repeats = Repeats(seen, self.ledger, self.options.resend, self.report.quality)
        report_out, rejects_out = self._outputs
        self._order = None
        if report_out is not None or rejects_out is not None or self.sinks:
            self._order = InputOrder(
                self._default,
                report=report_out,
                rejects=rejects_out,
                sinks=self.sinks,
                failed=self._output_failed,
            )
        thresholds = gc.get_threshold()
        # A run makes millions of short-lived objects and few reference cycles: collecting the youngest
        # generation every 700 allocations (the default) costs a sixth of this process's time. The
        # thresholds are put back when the run ends.
        gc.set_threshold(max(thresholds[0], memory.GC_THRESHOLD), *thresholds[1:])
        try:
            events = self._events()
            if self.sender is None:
                for _ in events:  # validate: _events reports each valid row itself
                    pass
            else:
                for outcomes in self.sender.deliver_batches(events):
                    self._delivered(outcomes)
                self.report.requests = self.sender.requests
                why = settle_stop(self.report, self.sender.stopped_by)
                # The sender stopped taking events (a signal): the rest of the chunk in hand was read and
                # counted, so each of its rows still gets an outcome.
                for event in events:
                    self._not_sent(event, f"not sent: {why}")
        finally:
            gc.set_threshold(*thresholds)
            seen.close()
            self.pool.close()
            self._count_user_keys()
            for source in self.sources:  # what reading had to say (a last line held back)
                self.report.warnings.extend(source.warnings)
        return self.report

    # -- stages -------------------------------------------------------------------------------------

    def _batches(self) -> Iterator[_Batch]:
        """Yield, chunk by chunk, the records read: each one's event or INVALID outcome, in input order;
        counts as it goes.

        Stops before the next row once the run is stopped, and right after the row that puts the run over
        `max_invalid`: rows read ahead for the workers beyond that are dropped, as if never read.
        """
        stop, state, quality = self.state.stop, self.state, self.report.quality
        user_keys = state.user_keys
        budget = self.options.max_invalid is not None
        for (source, read, block), (results, parsed, encoded) in self.pool.map(self._chunks()):
            file = source.name
            items: list[EncodedEvent | RowOutcome] = []
            events: list[tuple[int, EncodedEvent]] = []
            settled: list[RowOutcome] = []
            for line, name, event_id, asset_id, body, errors, warnings, keys in results:  # building.Built
                if stop.is_set():
                    break
                state.read += 1
                user_keys[keys] = user_keys.get(keys, 0) + 1
                if warnings and any(w.field == "event_time" for w in warnings):
                    quality.stale += 1
                if body is not None and asset_id is not None and name is not None and event_id is not None:
                    event = EncodedEvent(file, line, asset_id, name, event_id, body, warnings)
                    events.append((len(items), event))
                    items.append(event)
                elif not errors:  # not an event (chunks.Built): skipped, its reason the warning
                    outcome = RowOutcome(file, line, Status.SKIPPED, name, event_id, (), warnings)
                    settled.append(outcome)
                    items.append(outcome)
                    reason = warnings[0].message.split(":", 1)[0] if warnings else "not an event"
                    quality.not_events[reason] = quality.not_events.get(reason, 0) + 1
                else:
                    state.invalid += 1
                    outcome = RowOutcome(file, line, Status.INVALID, name, event_id, errors, warnings)
                    settled.append(outcome)
                    items.append(outcome)
                if budget and self._over_budget():
                    break
            quality.matchable += len(events)
            if items:
                rows = read if read is not None else parsed
                yield _Batch(source, rows, block, items, events, settled, encoded)
            if stop.is_set():
                return

    def _chunks(self) -> Iterator[tuple[tuple[Source, list[Row] | None, Block | None], Chunk]]:
        return read_chunks(
            self.sources,
            self.mapper,
            size=self.options.chunk_size,
            limit=self.options.limit,
            stop=self.state.stop,
            unused=self.report.quality.unused_columns,
            want_rows=bool(self.sinks),
            ctx=self.ctx,
        )

    def _count_user_keys(self) -> None:
        count_user_keys(self.state.user_keys, self.report)
        self.state.user_keys.clear()

    def _over_budget(self) -> bool:
        rate = self.options.max_invalid
        read = self.state.read
        if rate is None or read < self.options.min_sample or self.state.invalid <= rate * read:
            return False
        self.report.budget_stop = (
            f"stopped after {read} rows: {self.state.invalid / read:.1%} of them are invalid,"
            f" over --max-invalid {rate:g}"
        )
        self.state.stop.set()
        return True

    def _events(self) -> Iterator[EncodedEvent]:
        """Yield the events to send, chunk by chunk; count every other row, and hand each chunk to
        `order` (when the run has outputs or sinks) with the events of it in flight."""
        report, add, order = self.report, self._add, self._order
        for source, rows, block, items, events, settled, encoded in self._batches():
            for outcome in settled:
                add(outcome)
            skipped = self._repeats.skipped(source.name, events)
            budget_hit = report.budget_stop is not None
            chunk = None if order is None else Settling(source, rows, block, items, encoded)
            sendable = events
            if skipped or budget_hit:
                sendable = []
                for index, event in events:
                    if index in skipped:
                        outcome = skipped[index]
                    elif budget_hit:
                        reason = Problem("row", "not sent: " + str(report.budget_stop))
                        outcome = outcome_of(event, Status.FAILED, errors=(reason,))
                    else:
                        sendable.append((index, event))
                        continue
                    add(outcome)
                    if chunk is not None:
                        chunk.overrides[index] = outcome
            if self.sender is None:
                for name, count in Counter(event.event_name for _, event in sendable).items():
                    report.count_rows(Status.VALID, name, count)
                sendable = []
            if order is not None and chunk is not None:
                order.add(chunk, sendable)
            if self.progress is not None:
                self.progress()
            yield from (event for _, event in sendable)

    def _not_sent(self, event: EncodedEvent, reason: str) -> None:
        outcome = outcome_of(event, Status.FAILED, errors=(Problem("row", reason),))
        self._add(outcome)
        if self._order is not None:
            self._order.outcome(outcome)
            self._order.flush()

    def _delivered(self, outcomes: list[RowOutcome]) -> None:
        if self.ledger is not None and self.options.record:
            sent: dict[str, list[str]] = {}
            for outcome in outcomes:
                if outcome.status is Status.SENT and outcome.asset_id and outcome.event_id:
                    sent.setdefault(outcome.asset_id, []).append(outcome.event_id)
            record_all(self.ledger, sent, self.report, self._output_failed)
        report = self.report
        counts: dict[tuple[Status, str | None], int] = {}  # the others, counted at once
        for outcome in outcomes:
            if outcome.status in PROBLEM_STATUSES:
                self._add(outcome)
            else:
                key = (outcome.status, outcome.event_name)
                counts[key] = counts.get(key, 0) + 1
        for (status, name), rows in counts.items():
            report.count_rows(status, name, rows)
        order = self._order
        if order is not None:
            for outcome in outcomes:
                order.outcome(outcome)
            order.flush()
        if self.progress is not None:
            self.progress()

    def _add(self, outcome: RowOutcome) -> None:
        """Count `outcome`, as rows settle: the report's sample of failures is still the first ones in
        input order, whatever order requests complete in."""
        report = self.report
        if outcome.status not in PROBLEM_STATUSES:
            report.add(outcome)
            return
        report.count_rows(outcome.status, outcome.event_name)
        failures, place = report.failures, self._place
        if len(failures) < FAILURE_SAMPLE:
            insort(failures, outcome, key=place)
        elif place(outcome) < place(failures[-1]):
            failures.pop()
            insort(failures, outcome, key=place)

    def _place(self, outcome: RowOutcome) -> tuple[int, int]:
        return self._places.get(outcome.file, len(self._places)), outcome.line

    def _output_failed(self, err: Exception) -> None:
        output_failed(self.report, self.state.stop, None if self.sender is None else self.sender.stop, err)
