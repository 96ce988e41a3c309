"""Upload hands outcomes to its sinks (the report, the rejects file) in input order, however requests
complete: a row waits only while an earlier row is in flight."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx

from snapcapi.events.build import BuildContext
from snapcapi.events.mapping import Mapper, MappingConfig
from snapcapi.model import EncodedEvent, Row, RowOutcome, RunReport, Status, outcome_of
from snapcapi.outputs.reportfile import ReportWriter
from snapcapi.read.open import Source, SourceSpec, open_source
from snapcapi.run.order import InputOrder, Settling
from snapcapi.run.pipeline import Run, RunOptions, Sender, Sink
from snapcapi.send.client import SnapClient, StaticToken, make_http_client
from snapcapi.send.delivery import Delivery
from snapcapi.spec import ActionSource

NOW = 1_790_000_000
CTX = BuildContext(now=NOW, pixel_id="pixel", default_action_source=ActionSource.OFFLINE)


def write_rows(path: Path, rows: int) -> Path:
    """A CSV of valid sign-ups with an invalid row (no event time) every seventh line."""
    lines = ["event_name,event_time,event_id,email"]
    for i in range(rows):
        when = "" if i % 7 == 3 else str(NOW - 3600 - i)
        lines.append(f"SIGN_UP,{when},id-{i},user{i}@example.com")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Lines:
    """A sink keeping the line of every outcome, in the order it is given."""

    def __init__(self) -> None:
        self.outcomes: list[RowOutcome] = []

    def __call__(self, outcome: RowOutcome, source: Source, row: Row) -> None:
        assert row.line == outcome.line  # the row handed on is the outcome's own
        self.outcomes.append(outcome)


class Reversed:
    """A sender that reads every event, then settles them last first, one request per event."""

    stopped_by: Exception | None = None
    requests = 0

    def deliver_batches(self, events: Iterable[EncodedEvent]) -> Iterator[list[RowOutcome]]:
        taken = list(events)
        self.requests = len(taken)
        for event in reversed(taken):
            status = Status.REJECTED if event.event_id.endswith("5") else Status.SENT
            yield [outcome_of(event, status)]

    def stop(self, reason: str | None = None) -> None:
        pass


class FirstRequestLast:
    """A fake Snap whose first request is answered only after three later ones were (or 10 s passed):
    the requests complete out of the order they were sent in."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[str] = []  # first event id of each request, as requests came in
        self.completed: list[str] = []  # ... and as they were answered
        self.others_done = threading.Event()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        first = json.loads(request.content)["data"][0]["event_id"]
        with self.lock:
            self.started.append(first)
            is_first = len(self.started) == 1
        if is_first:
            self.others_done.wait(10)
        with self.lock:
            self.completed.append(first)
            if len(self.completed) >= 3:
                self.others_done.set()
        return httpx.Response(200, json={"status": "VALID", "reason": "ok"})


def run(
    path: Path, sender: Sender, *, workers: int = 1, report: Path | None = None
) -> tuple[RunReport, Lines]:
    """Upload `path` through `sender`; return the report and what a sink saw (and write `report`)."""
    lines = Lines()
    with ExitStack() as stack:
        source = stack.enter_context(open_source(SourceSpec(str(path))))
        writer = None if report is None else stack.enter_context(ReportWriter(report))
        options = RunOptions(workers=workers, chunk_size=20)
        sinks: list[Sink] = [lines]
        result = Run(
            [source], Mapper(MappingConfig()), CTX, sender=sender, options=options, sinks=sinks, report=writer
        )
        return result.execute(), lines


def test_outcomes_settled_last_first_are_handed_on_first_first(tmp_path: Path) -> None:
    """A sender that settles every row in reverse: the sinks and the report file still see input order."""
    path = write_rows(tmp_path / "rows.csv", 200)
    report_path = tmp_path / "report.jsonl"
    report, lines = run(path, Reversed(), report=report_path)
    assert [o.line for o in lines.outcomes] == list(range(2, 202))
    statuses = {o.status for o in lines.outcomes}
    assert statuses == {Status.SENT, Status.REJECTED, Status.INVALID}
    records = [json.loads(line) for line in report_path.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in records] == list(range(2, 202))
    assert report.rows == 200
    # The report's sample of failures is the first ones in input order too.
    assert [o.line for o in report.failures] == sorted(o.line for o in report.failures)
    assert report.failures[0].line == 5  # i == 3: no event time


def test_requests_completing_out_of_order_are_reported_in_input_order(tmp_path: Path) -> None:
    """Real delivery, four requests at once, the first answered after later ones: input order all the
    same, with two worker processes building the rows."""
    path = write_rows(tmp_path / "rows.csv", 300)
    snap = FirstRequestLast()
    with make_http_client(transport=httpx.MockTransport(snap)) as http:
        client = SnapClient(http, "https://tr.example.test", StaticToken("t"), sleep=lambda _: None)
        delivery = Delivery(client, batch_size=10, concurrency=4)
        report, lines = run(path, delivery, workers=2)
    assert snap.completed != snap.started  # the requests did complete out of order
    assert snap.completed[:3] != snap.started[:3]
    assert [o.line for o in lines.outcomes] == list(range(2, 302))
    assert report.count(Status.SENT) + report.count(Status.INVALID) == 300


def test_without_sinks_the_sample_of_failures_is_the_first_in_input_order(tmp_path: Path) -> None:
    """No sink: rows are counted as they settle, yet the report lists the first failures of the input."""
    path = write_rows(tmp_path / "rows.csv", 200)
    with open_source(SourceSpec(str(path))) as source:
        report = Run(
            [source],
            Mapper(MappingConfig()),
            CTX,
            sender=Reversed(),
            options=RunOptions(chunk_size=20),
        ).execute()
    _, with_sink = run(path, Reversed())
    expected = [o for o in with_sink.outcomes if o.status in (Status.INVALID, Status.REJECTED)][:20]
    assert report.failures == expected
    assert {o.status for o in report.failures} == {Status.INVALID, Status.REJECTED}


def test_a_chunk_waits_only_while_an_earlier_row_is_in_flight() -> None:
    """`InputOrder` hands a chunk on at once when no row of it or before it is in flight, holds a settled
    chunk behind an earlier one in flight, and lets go of both once that one's rows have their outcomes."""
    given: list[int] = []
    order = InputOrder(Status.SENT, sinks=[lambda outcome, source, row: given.append(outcome.line)])
    source: Source = None  # type: ignore[assignment]  # handed on as is, never looked at
    event = EncodedEvent("f", 2, "pixel", "PURCHASE", "a", b"")
    rows = [Row("f", line, {}) for line in range(1, 6)]
    invalid = RowOutcome("f", 1, Status.INVALID)
    order.add(Settling(source, rows[:1], None, [invalid], None))
    assert given == [1]
    second = Settling(source, rows[1:3], None, [event, event._replace(line=3, event_id="b")], None)
    order.add(second, [(0, second.items[0]), (1, second.items[1])])  # type: ignore[list-item]
    order.add(Settling(source, rows[3:4], None, [RowOutcome("f", 4, Status.INVALID)], None))
    assert given == [1]
    assert len(order) == 2
    order.outcome(RowOutcome("f", 3, Status.REJECTED))
    order.flush()
    assert given == [1]
    order.outcome(RowOutcome("f", 2, Status.SENT))
    order.flush()
    assert given == [1, 2, 3, 4]
    assert len(order) == 0
