"""The pipeline: sources -> mapping -> events -> duplicates and ledger -> delivery -> outcomes.

`run` ties the stages together and is the library's entry point: it needs no terminal, and reports every
row's outcome to the sinks it is given as the outcomes happen (report files, rejects, a progress bar).
Rows stream through in chunks; nothing holds a whole file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Protocol

from snapcapi.dedupe import SeenIds
from snapcapi.events import BuildContext, Invalid, build
from snapcapi.ledger import Ledger
from snapcapi.mapping import ColumnPlan, Mapper
from snapcapi.model import Event, Problem, Row, RowOutcome, RunReport, Status
from snapcapi.readers import Source

# A row's outcome, the source it came from, and the row itself (for the rejects file).
Sink = Callable[[RowOutcome, Source, Row], None]


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

    def deliver_batches(self, events: Iterable[Event]) -> Iterator[list[RowOutcome]]:
        """Yield the outcomes of each request as it completes; every event yields exactly one outcome."""
        ...

    def stop(self) -> None:
        """Stop taking events; finish what is in flight."""
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


@dataclass
class _State:
    """Mutable bookkeeping of one run, kept on the main thread."""

    report: RunReport = field(default_factory=RunReport)
    read: int = 0
    invalid: int = 0
    stop: threading.Event = field(default_factory=threading.Event)


def _outcome_for_invalid(row: Row, invalid: Invalid) -> RowOutcome:
    return RowOutcome(
        row.file,
        row.line,
        Status.INVALID,
        invalid.event_name,
        invalid.event_id,
        invalid.errors,
        invalid.warnings,
    )


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
    ) -> None:
        self.sources = sources
        self.mapper = mapper
        self.ctx = ctx
        self.sender = sender
        self.ledger = ledger
        self.options = options or RunOptions()
        self.sinks = sinks
        self.state = _State()
        self._pending: dict[tuple[str, int], tuple[Source, Row]] = {}

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
        try:
            events = self._events(seen)
            if self.sender is None:
                for _ in events:  # validate: _events reports each valid row itself
                    pass
            else:
                for outcomes in self.sender.deliver_batches(events):
                    self._delivered(outcomes)
                self.report.requests = self.sender.requests
                stopped_by = self.sender.stopped_by
                if stopped_by is not None:
                    self.report.auth_error = str(stopped_by)
        finally:
            seen.close()
        return self.report

    # -- stages -------------------------------------------------------------------------------------

    def _rows(self) -> Iterator[tuple[Source, Row, Event | RowOutcome]]:
        limit = self.options.limit
        for source in self.sources:
            plan = None
            if source.columns is not None:
                plan = self.mapper.plan(source.columns, source=source.name)
                if plan.unused:
                    self.report.quality.unused_columns[source.name] = plan.unused
            for row in source.rows():
                if self.state.stop.is_set() or (limit is not None and self.state.read >= limit):
                    return
                self.state.read += 1
                yield source, row, self._build(row, plan)
                if self._over_budget():
                    return

    def _build(self, row: Row, plan: ColumnPlan | None) -> Event | RowOutcome:
        if row.error is not None:
            self.state.invalid += 1
            return RowOutcome(row.file, row.line, Status.INVALID, errors=(Problem("row", row.error),))
        values = self.mapper.map(row, plan)
        built = build(values, row.file, row.line, self.ctx)
        quality = self.report.quality
        keys = tuple(built.payload["user_data"]) if isinstance(built, Event) else built.user_keys
        for key in keys:
            quality.identifiers[key] = quality.identifiers.get(key, 0) + 1
        if isinstance(built, Event):
            quality.matchable += 1
        if any(w.field == "event_time" for w in built.warnings):
            quality.stale += 1
        if isinstance(built, Invalid):
            self.state.invalid += 1
            return _outcome_for_invalid(row, built)
        return built

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

    def _events(self, seen: SeenIds) -> Iterator[Event]:
        rows = self._rows()
        while chunk := list(islice(rows, self.options.chunk_size)):
            events = [(i, item) for i, (_, _, item) in enumerate(chunk) if isinstance(item, Event)]
            earlier = seen.first_seen([(e.asset_id, e.event_id, e.file, e.line) for _, e in events])
            delivered = self._already_delivered([e for _, e in events])
            skipped: dict[int, RowOutcome] = {}
            for (index, event), where in zip(events, earlier, strict=True):
                if where is not None:
                    self.report.quality.duplicates += 1
                    reason = f"duplicate of {where[0]} line {where[1]} (same event_id)"
                elif (event.asset_id, event.event_id) in delivered:
                    reason = "already delivered by an earlier run (the ledger); --resend sends it again"
                else:
                    continue
                skipped[index] = _outcome(event, Status.SKIPPED, warnings=(Problem("event_id", reason),))
            budget_hit = self.report.budget_stop is not None
            for index, (source, row, item) in enumerate(chunk):
                if isinstance(item, RowOutcome):
                    self._emit(item, source, row)
                elif index in skipped:
                    self._emit(skipped[index], source, row)
                elif budget_hit:
                    self._emit(
                        _outcome(
                            item,
                            Status.FAILED,
                            errors=(Problem("row", "not sent: " + str(self.report.budget_stop)),),
                        ),
                        source,
                        row,
                    )
                elif self.sender is None:
                    self._emit(_outcome(item, Status.VALID), source, row)
                else:
                    self._pending[(item.file, item.line)] = (source, row)
                    yield item

    def _already_delivered(self, events: list[Event]) -> set[tuple[str, str]]:
        if self.ledger is None or self.options.resend or not events:
            return set()
        by_asset: dict[str, list[str]] = {}
        for event in events:
            by_asset.setdefault(event.asset_id, []).append(event.event_id)
        return {
            (asset, event_id)
            for asset, ids in by_asset.items()
            for event_id in self.ledger.delivered(asset, ids)
        }

    def _delivered(self, outcomes: list[RowOutcome]) -> None:
        if self.ledger is not None and self.options.record:
            sent: dict[str, list[str]] = {}
            for outcome in outcomes:
                if outcome.status is Status.SENT and outcome.asset_id and outcome.event_id:
                    sent.setdefault(outcome.asset_id, []).append(outcome.event_id)
            for asset, ids in sent.items():
                self.ledger.record(asset, ids)
        for outcome in outcomes:
            source, row = self._pending.pop((outcome.file, outcome.line))
            self._emit(outcome, source, row)

    def _emit(self, outcome: RowOutcome, source: Source, row: Row) -> None:
        self.report.add(outcome)
        for sink in self.sinks:
            sink(outcome, source, row)


def _outcome(
    event: Event, status: Status, *, errors: tuple[Problem, ...] = (), warnings: tuple[Problem, ...] = ()
) -> RowOutcome:
    return RowOutcome(
        event.file,
        event.line,
        status,
        event.event_name.value,
        event.event_id,
        errors,
        event.warnings + warnings,
        event.asset_id,
    )
