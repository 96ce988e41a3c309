"""What a run makes of real exports, through the command line (Typer's CliRunner): Segment calls that are
not events, spreadsheet apostrophes, and rejects files uploaded again."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

import pytest
from typer.testing import CliRunner, Result

from snapcapi.cli.app import app

SEGMENT_SKIP = "a Segment {} call, not an event: Snap takes events (Segment's track, page and screen calls)"


class Invoke(Protocol):
    """Runs the CLI with arguments."""

    def __call__(self, *args: str) -> Result: ...


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Invoke the app with a clean environment, in `tmp_path`, at 100 columns."""
    for name in list(os.environ):
        if name.startswith("SNAPCAPI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SNAPCAPI_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "100")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_segment_identify_group_and_alias_calls_are_skipped_with_the_reason(
    run: Invoke, tmp_path: Path
) -> None:
    """A Segment export holds identify, group and alias calls besides the events: each ends `skipped`
    with its reason (not `invalid` with advice to pass --event-type, which would not make events of them
    either), and the run exits 0."""
    calls = [
        {"type": "track", "event": "Order Completed", "messageId": "m-1", "timestamp": "now-1h",
         "context": {"ip": "203.0.113.7", "userAgent": "Mozilla/5.0", "page": {"url": "https://s.example/"}},
         "properties": {"revenue": 10, "currency": "USD"}},
        {"type": "identify", "userId": "u-1", "messageId": "m-2", "traits": {"email": "a@example.com"}},
        {"type": "group", "userId": "u-1", "groupId": "g-1", "messageId": "m-3"},
        {"type": "alias", "userId": "u-1", "previousId": "anon-1", "messageId": "m-4"},
    ]  # fmt: skip
    path = tmp_path / "segment.jsonl"
    path.write_text("".join(json.dumps(call) + "\n" for call in calls), encoding="utf-8")
    options = ("--pixel-id", "P", "--event-type", "PURCHASE", "--report", "report.jsonl", "--json", "-q")
    result = run("validate", str(path), *options)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["valid"], summary["invalid"], summary["skipped"]) == (4, 1, 0, 3)
    records = [json.loads(line) for line in (tmp_path / "report.jsonl").read_text().splitlines()]
    assert [(r["line"], r["status"], r["errors"], r["warnings"]) for r in records] == [
        (1, "valid", [], []),
        (2, "skipped", [], [f"row: {SEGMENT_SKIP.format('identify')}"]),
        (3, "skipped", [], [f"row: {SEGMENT_SKIP.format('group')}"]),
        (4, "skipped", [], [f"row: {SEGMENT_SKIP.format('alias')}"]),
    ]
