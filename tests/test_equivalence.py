"""The fast pipeline gives what the reference pipeline gives: payloads, hashes, statuses and reports.

Fast: worker processes, several chunks in flight, the phone fast path, the identifier caches and the faster
column mapping. Reference: one process, `BuildContext(fast=False)`, no cache, phonenumbers for every phone.
The inputs mix valid rows with every kind of problem, so both paths take each branch.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from snapcapi.events.build import BuildContext, build
from snapcapi.events.mapping import Mapper, MappingConfig
from snapcapi.model import Event, Row, RowOutcome, RunReport
from snapcapi.read.open import Source, SourceSpec, open_source
from snapcapi.run.pipeline import Run, RunOptions
from snapcapi.send.client import SnapClient, StaticToken, make_http_client
from snapcapi.send.delivery import Delivery
from snapcapi.spec import ActionSource

NOW = 1_790_000_000
PIXEL = "pixel-eq"
HEADER = ["event_name", "event_time", "event_id", "email", "phone", "first_name", "last_name", "zip"]
HEADER += ["country", "value", "currency", "order_id"]
PHONES = [
    "(415) 555-{:04d}",
    "+1 646 555 {:04d}",
    "001 212 555 {:04d}",
    "1-312-555-{:04d}",
    "+44 20 7946 {:04d}",
    "+44 (0)20 7946 {:04d}",
    "0044 161 496 {:04d}",
    "+33 1 42 68 {:04d}",
    "+39 06 6988 {:04d}",
    "+49 30 1234{:04d}",
    "555-{:04d}",  # too short: dropped with a warning
    "+999 {:04d}",  # no such country code
    "not a phone {:04d}",
    "+1 (800) FLOWERS {:04d}",
]
NAMES = ["Olivia", " JOSÉ ", "Zoë", "O'Brien", "van der Berg", "Raphaël", "!!!", "Ånne-Marie", "Smith"]


def _pick(rng: random.Random, good: str, *bad: str) -> str:
    """`good` four times in five, else one of `bad`."""
    return good if rng.random() < 0.8 or not bad else rng.choice(bad)


def _row(i: int, rng: random.Random) -> list[str]:
    when = int(_pick(rng, str(NOW - 3600), str(NOW - 9 * 86400), str(NOW - 40 * 86400), str(NOW + 86400)))
    return [
        _pick(rng, "PURCHASE", "purchase", "Order Completed", "Purchse", "", "SIGN_UP"),
        _pick(rng, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)), str(when), "yesterday"),
        _pick(rng, f"evt-{i}", f"evt-{i // 7}", ""),  # duplicates and missing ids too
        _pick(rng, f"Person{i}@Example.com", f" p.{i}@mail.example.org ", "broken@", "", "A" * 64),
        rng.choice(PHONES).format(i % 10_000),
        rng.choice(NAMES),
        rng.choice(NAMES),
        _pick(rng, "94025", "94025-1234", "SW1A 1AA", "??", ""),
        _pick(rng, "US", "United States", "gbr", "Atlantis", ""),
        _pick(rng, "19.99", "0", "-1", "abc", ""),
        _pick(rng, "USD", "eur", "XYZ", ""),
        _pick(rng, f"ord-{i}", ""),
    ]


def write_input(path: Path, rows: int, seed: int = 5) -> Path:
    """A CSV of `rows` rows of every sort, the same for the same seed."""
    rng = random.Random(seed)
    lines = [",".join(HEADER)]
    for i in range(rows):
        fields = _row(i, rng)
        lines.append(",".join(f'"{f}"' if "," in f else f for f in fields))
        if i % 97 == 13:
            lines.append('broken,"row')  # a record that cannot be read: an error row, then resync
            lines.append('",x')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def context(*, fast: bool) -> BuildContext:
    return BuildContext(now=NOW, pixel_id=PIXEL, default_action_source=ActionSource.OFFLINE, fast=fast)


class Recorder:
    """A sink keeping every outcome, in the order they are reported."""

    def __init__(self) -> None:
        self.outcomes: list[RowOutcome] = []

    def __call__(self, outcome: RowOutcome, source: Source, row: Row) -> None:
        self.outcomes.append(outcome)


def run_pipeline(
    path: Path,
    *,
    fast: bool,
    workers: int,
    sender: Delivery | None = None,
    sink: bool = True,
    **options: Any,
) -> tuple[RunReport, list[RowOutcome], Run]:
    """Run the pipeline over `path` and return its report, the outcomes its sink saw (none without a
    sink), and the run."""
    recorder = Recorder()
    with open_source(SourceSpec(str(path))) as source:
        run = Run(
            [source],
            Mapper(MappingConfig()),
            context(fast=fast),
            sender=sender,
            options=RunOptions(workers=workers, **{"chunk_size": 50, **options}),
            sinks=[recorder] if sink else [],
        )
        report = run.execute()
    return report, recorder.outcomes, run


def comparable(report: RunReport) -> dict[str, Any]:
    """The whole report as plain values."""
    return {
        "rows": report.rows,
        "by_status": dict(report.by_status),
        "by_event": report.by_event,
        "failures": report.failures,
        "quality": (
            report.quality.identifiers,
            list(report.quality.identifiers),  # the order the summary lists them in
            report.quality.matchable,
            report.quality.stale,
            report.quality.duplicates,
            report.quality.unused_columns,
        ),
        "budget_stop": report.budget_stop,
    }


@pytest.fixture(scope="module")
def mixed_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 600-row file of every sort of row: twelve chunks of 50."""
    return write_input(tmp_path_factory.mktemp("eq") / "mixed.csv", 600)


def test_validate_gives_the_same_report_and_outcomes_with_workers_and_fast_paths(mixed_csv: Path) -> None:
    """validate: two workers with fast paths and caches report every row as one process without them."""
    fast_report, fast_outcomes, fast_run = run_pipeline(mixed_csv, fast=True, workers=2)
    slow_report, slow_outcomes, slow_run = run_pipeline(mixed_csv, fast=False, workers=1)
    assert fast_run.pool.workers == 2
    assert slow_run.pool.workers == 1
    assert fast_outcomes == slow_outcomes
    assert comparable(fast_report) == comparable(slow_report)
    statuses = {outcome.status.value for outcome in fast_outcomes}
    assert {"valid", "invalid", "skipped"} <= statuses  # every branch was taken


def test_the_pool_started_and_built_most_chunks(mixed_csv: Path) -> None:
    """The fast run really ran in worker processes (a one-chunk input would not start them)."""
    with open_source(SourceSpec(str(mixed_csv))) as source:
        run = Run([source], Mapper(MappingConfig()), context(fast=True), options=RunOptions(workers=2))
        run.options = replace(run.options, chunk_size=50)
        seen: list[bool] = []
        for _ in run.pool.map(run._chunks()):
            seen.append(run.pool.started)
        run.pool.close()
    assert len(seen) > 2
    assert seen[-1]


def test_a_budget_stop_falls_on_the_same_row(mixed_csv: Path) -> None:
    """--max-invalid stops both paths after the same row, rows read ahead by the workers dropped."""
    fast = run_pipeline(mixed_csv, fast=True, workers=2, max_invalid=0.3, min_sample=120)
    slow = run_pipeline(mixed_csv, fast=False, workers=1, max_invalid=0.3, min_sample=120)
    assert fast[0].budget_stop is not None
    assert fast[1] == slow[1]
    assert comparable(fast[0]) == comparable(slow[0])


def test_limit_reads_the_same_rows(mixed_csv: Path) -> None:
    """--limit cuts both paths at the same row."""
    fast = run_pipeline(mixed_csv, fast=True, workers=2, limit=333)
    slow = run_pipeline(mixed_csv, fast=False, workers=1, limit=333)
    assert fast[0].rows == 333
    assert fast[1] == slow[1]


class Capture:
    """A fake Snap that takes every request and keeps its body; refuses the events named `bad`."""

    def __init__(self, bad: set[str]) -> None:
        self.bad = bad
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        data = json.loads(request.content)["data"]
        with self.lock:
            self.bodies.append(request.content)
        for index, event in enumerate(data):
            if event["event_id"] in self.bad:
                return httpx.Response(400, json={"status": "INVALID", "reason": "bad", "event": index})
        return httpx.Response(200, json={"status": "VALID", "reason": "ok"})


def upload(
    path: Path, *, fast: bool, workers: int, **options: Any
) -> tuple[RunReport, list[RowOutcome], list[bytes]]:
    capture = Capture(bad={"evt-40", "evt-41"})
    with make_http_client(transport=httpx.MockTransport(capture)) as http:
        client = SnapClient(http, "https://tr.example.test", StaticToken("t"), sleep=lambda _: None)
        # One request at a time and small batches: the bodies come in a fixed order, many of them.
        delivery = Delivery(client, batch_size=37, concurrency=1)
        report, outcomes, _ = run_pipeline(path, fast=fast, workers=workers, sender=delivery, **options)
    return report, outcomes, capture.bodies


def test_upload_sends_the_same_bytes_and_reports_the_same(mixed_csv: Path) -> None:
    """upload: the same request bodies, byte for byte, and the same outcomes, refusals included."""
    fast_report, fast_outcomes, fast_bodies = upload(mixed_csv, fast=True, workers=2)
    slow_report, slow_outcomes, slow_bodies = upload(mixed_csv, fast=False, workers=1)
    assert fast_bodies == slow_bodies
    assert fast_outcomes == slow_outcomes
    assert comparable(fast_report) == comparable(slow_report)
    assert {"sent", "rejected"} <= {outcome.status.value for outcome in fast_outcomes}


@pytest.mark.parametrize("chunk_size", [1, 3, 50])
def test_a_run_without_sinks_reports_the_same(mixed_csv: Path, chunk_size: int) -> None:
    """Without sinks, the main process counts rows a chunk at a time, and a chunk of rows all valid and new
    all at once (small chunks make many of those): the report is that of a run whose sink sees each row,
    and upload sends the same bytes."""
    with_sink = run_pipeline(mixed_csv, fast=True, workers=1, chunk_size=chunk_size)
    without = run_pipeline(mixed_csv, fast=True, workers=1, chunk_size=chunk_size, sink=False)
    assert without[1] == []
    assert comparable(without[0]) == comparable(with_sink[0])
    sent_with_sink = upload(mixed_csv, fast=True, workers=1, chunk_size=chunk_size)
    sent_without = upload(mixed_csv, fast=True, workers=1, chunk_size=chunk_size, sink=False)
    assert sent_without[2] == sent_with_sink[2]
    assert comparable(sent_without[0]) == comparable(sent_with_sink[0])


def reference_events(path: Path) -> Iterator[Event]:
    """The events of `path` as the reference builder makes them, one by one, without the pipeline."""
    mapper = Mapper(MappingConfig())
    with open_source(SourceSpec(str(path))) as source:
        assert source.columns is not None
        plan = mapper.plan(source.columns)
        for row in source.rows():
            if row.error is None:
                built = build(mapper.map(row, plan), row.file, row.line, context(fast=False))
                if isinstance(built, Event):
                    yield built


def test_sent_events_are_the_reference_payloads_as_json_dumps_writes_them(mixed_csv: Path) -> None:
    """Each event sent is `json.dumps` of the reference payload (compact, UTF-8), byte for byte."""
    _, _, bodies = upload(mixed_csv, fast=True, workers=2)
    expected: dict[str, bytes] = {}
    for event in reference_events(mixed_csv):  # the first row of an event_id is the one sent
        encoded = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        expected.setdefault(event.event_id, encoded)
    sent = [event["event_id"] for body in bodies for event in json.loads(body)["data"]]
    assert len(sent) > 100
    text = b"\n".join(bodies)
    for event_id in sent:
        assert expected[event_id] in text


def test_json_lines_input_gives_the_same_outcomes(tmp_path: Path) -> None:
    """JSON Lines rows (no header: the mapping per row) take the same path through the workers."""
    rng = random.Random(11)
    lines = []
    for i in range(300):
        fields = dict(zip(HEADER, _row(i, rng), strict=True))
        lines.append(json.dumps({k: v for k, v in fields.items() if v}, ensure_ascii=False))
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    fast = run_pipeline(path, fast=True, workers=2)
    slow = run_pipeline(path, fast=False, workers=1)
    assert fast[1] == slow[1]
    assert comparable(fast[0]) == comparable(slow[0])


def test_the_command_line_reports_the_same_with_workers_and_without(mixed_csv: Path, tmp_path: Path) -> None:
    """`snapcapi validate --workers 2` and `--workers 1`: the same summary and the same report file."""
    outputs = []
    for workers in ("2", "1"):
        report = tmp_path / f"report-{workers}.jsonl"
        argv = [sys.executable, "-m", "snapcapi", "validate", str(mixed_csv), "--json", "--quiet"]
        argv += ["--conversion-type", "OFFLINE", "--pixel-id", PIXEL, "--workers", workers]
        done = subprocess.run(
            [*argv, "--report", str(report)], capture_output=True, text=True, check=False, timeout=120
        )
        assert done.returncode == 1, done.stderr  # some rows are invalid
        outputs.append((json.loads(done.stdout), report.read_text(encoding="utf-8")))
    assert outputs[0] == outputs[1]
