"""Report records and rejects lines encoded by the workers: the bytes the standard library writes, and the
same files whichever process encoded them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from snapcapi.events.mapping import Mapper, MappingConfig
from snapcapi.model import Problem, RowOutcome, Status
from snapcapi.outputs.rejects import RejectsWriter
from snapcapi.outputs.reportfile import ReportWriter
from snapcapi.read.open import SourceSpec, open_source
from snapcapi.run.pipeline import Run, RunOptions
from snapcapi.run.records import REPORT_COLUMNS, ReportEncoder
from snapcapi.send.client import SnapClient, StaticToken, make_http_client
from snapcapi.send.delivery import Delivery
from tests.test_equivalence import Capture, context, write_input

text = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(["", 'a"b', "a\\b", "é\n\t\x00"])
problems = st.lists(st.builds(Problem, text, text), max_size=3).map(tuple)
outcomes = st.builds(
    RowOutcome,
    text,
    st.integers(1, 10**9),
    st.sampled_from(list(Status)),
    st.none() | text,
    st.none() | text,
    problems,
    problems,
    st.none() | text,
)


def reference_record(outcome: RowOutcome) -> dict[str, Any]:
    """The record as the report wrote it before records were encoded by the workers."""
    return {
        "file": outcome.file,
        "line": outcome.line,
        "status": outcome.status.value,
        "event_name": outcome.event_name,
        "event_id": outcome.event_id,
        "asset_id": outcome.asset_id or None,  # "": validated without an asset id
        "errors": [str(p) for p in outcome.errors],
        "warnings": [str(p) for p in outcome.warnings],
    }


@given(outcomes)
def test_a_json_lines_record_is_what_json_dumps_writes(outcome: RowOutcome) -> None:
    """Byte for byte `json.dumps(record, ensure_ascii=False)`, whatever the names and reasons hold."""
    expected = json.dumps(reference_record(outcome), ensure_ascii=False) + "\n"
    assert ReportEncoder("jsonl").outcome(outcome) == expected.encode("utf-8", "backslashreplace")


@given(outcomes)
def test_a_csv_record_is_what_csv_dictwriter_writes(outcome: RowOutcome) -> None:
    """Byte for byte the `csv.DictWriter` row, problems joined by "; "."""
    record = reference_record(outcome)
    record["errors"] = "; ".join(record["errors"])
    record["warnings"] = "; ".join(record["warnings"])
    out = io.StringIO(newline="")
    csv.DictWriter(out, fieldnames=REPORT_COLUMNS).writerow(record)
    assert ReportEncoder("csv").outcome(outcome) == out.getvalue().encode("utf-8", "backslashreplace")


def test_a_file_name_that_is_not_utf8_is_escaped_in_json() -> None:
    """A lone surrogate (an undecodable file name) becomes a \\udcXX escape: the line is valid JSON."""
    line = ReportEncoder("jsonl").outcome(RowOutcome("caf\udce9.csv", 2, Status.VALID))
    assert b'"caf\\udce9.csv"' in line
    assert json.loads(line)["file"] == "caf\udce9.csv"


def outputs(
    path: Path, tmp: Path, *, workers: int, fast: bool, send: bool, suffixes: tuple[str, str]
) -> list[bytes]:
    """Run `path` with a report and a rejects file of those suffixes; return both files' bytes."""
    report_path = tmp / f"report-{workers}{suffixes[0]}"
    rejects_path = tmp / f"rejects-{workers}{suffixes[1]}"
    sender = None
    http = None
    if send:
        http = make_http_client(transport=httpx.MockTransport(Capture(bad={"evt-40", "evt-41"})))
        client = SnapClient(http, "https://tr.example.test", StaticToken("t"), sleep=lambda _: None)
        sender = Delivery(client, batch_size=37, concurrency=3)
    try:
        with (
            open_source(SourceSpec(str(path))) as source,
            ReportWriter(report_path) as report,
            RejectsWriter(rejects_path) as rejects,
        ):
            Run(
                [source],
                Mapper(MappingConfig()),
                context(fast=fast),
                sender=sender,
                options=RunOptions(workers=workers, chunk_size=50),
                report=report,
                rejects=rejects,
            ).execute()
    finally:
        if http is not None:
            http.close()
    return [report_path.read_bytes(), rejects_path.read_bytes()]


def test_validate_writes_the_same_files_with_workers_as_in_one_process(tmp_path: Path) -> None:
    """Records encoded by two workers, with the fast paths, are the one-process run's, byte for byte."""
    mixed = write_input(tmp_path / "mixed.csv", 400)
    for suffixes in ((".jsonl", ".csv"), (".csv", ".jsonl")):
        fast = outputs(mixed, tmp_path, workers=2, fast=True, send=False, suffixes=suffixes)
        slow = outputs(mixed, tmp_path, workers=1, fast=False, send=False, suffixes=suffixes)
        assert fast == slow
    lines = (tmp_path / "report-2.jsonl").read_text(encoding="utf-8").splitlines()
    statuses = {json.loads(line)["status"] for line in lines}
    assert statuses == {"valid", "invalid", "skipped"}  # the workers' records and the main process's


def test_upload_writes_the_same_files_with_workers_as_in_one_process(tmp_path: Path) -> None:
    """Upload, requests three at a time: the same report and rejects files, rows Snap refused included
    (their rejects lines made by the main process from the block the workers parsed)."""
    mixed = write_input(tmp_path / "mixed.csv", 400)
    fast = outputs(mixed, tmp_path, workers=2, fast=True, send=True, suffixes=(".jsonl", ".csv"))
    slow = outputs(mixed, tmp_path, workers=1, fast=False, send=True, suffixes=(".jsonl", ".csv"))
    assert fast == slow
    records = [json.loads(line) for line in fast[0].decode("utf-8").splitlines()]
    assert [r["line"] for r in records] == sorted(r["line"] for r in records)
    rejected = {r["event_id"] for r in records if r["status"] == "rejected"}
    assert rejected
    rejects = list(csv.DictReader(io.StringIO(fast[1].decode("utf-8"), newline="")))
    assert {row["event_id"] for row in rejects if row["error"] == "snap: bad"} == rejected
    assert len(rejects) == sum(r["status"] in ("invalid", "rejected") for r in records)
