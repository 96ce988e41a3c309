"""What a run makes of real exports, through the command line (Typer's CliRunner): Segment calls that are
not events, spreadsheet apostrophes, and rejects files uploaded again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
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
def run(clean_environment: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Invoke the app with a clean environment, in `tmp_path`, at 100 columns."""
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


CRM = (
    "order_id,event_time,email,first_name,store,value,currency\n"
    "A-1,now-1h,renee@example.com,Renée,Paris,10,EUR\n"
    "A-2,now-1h,not-an-email,Zoë,Lyon,12,EUR\n"
)
VALIDATE = ("--event-type", "PURCHASE", "--conversion-type", "OFFLINE", "--pixel-id", "P")


@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
def test_the_rejects_file_keeps_the_inputs_bom(run: Invoke, tmp_path: Path, bom: bool) -> None:
    """An Excel CSV starts with a UTF-8 BOM, without which Excel shows Zoë as ZoÃ«: the rejects file starts
    with one when the input did, and not otherwise."""
    path = tmp_path / "crm.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + CRM.encode("utf-8"))
    result = run("validate", str(path), *VALIDATE, "--rejects", "rejects.csv", "-q")
    assert result.exit_code == 1, result.output
    expected = (
        "order_id,event_time,email,first_name,store,value,currency,error\r\n"
        'A-2,now-1h,not-an-email,Zoë,Lyon,12,EUR,"user_data: no matchable identifier (needs email, phone,'
        ' mobile ad id, or IP address + user agent)"\r\n'
    )
    assert (tmp_path / "rejects.csv").read_bytes() == (b"\xef\xbb\xbf" if bom else b"") + expected.encode()


def test_a_rejects_file_uploaded_again_does_not_list_its_error_column_as_unused(
    run: Invoke, tmp_path: Path
) -> None:
    """The rejects file's `error` column is snapcapi's own: read again, it is ignored, not reported as
    a column not used (the input's own unused column still is)."""
    (tmp_path / "crm.csv").write_text(CRM, encoding="utf-8")
    assert run("validate", "crm.csv", *VALIDATE, "--rejects", "rejects.csv", "-q").exit_code == 1
    fixed = (tmp_path / "rejects.csv").read_text(encoding="utf-8").replace("not-an-email", "zoe@example.com")
    (tmp_path / "rejects.csv").write_text(fixed, encoding="utf-8")
    result = run("validate", "rejects.csv", *VALIDATE, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["quality"]["unused_columns"] == {"rejects.csv": ["store"]}
    assert "rejects.csv: columns not used: store\n" in result.stderr


def test_a_users_own_error_column_that_is_not_last_is_still_listed_as_unused(
    run: Invoke, tmp_path: Path
) -> None:
    """Only the last column, where the rejects file puts its reasons, is taken for snapcapi's own."""
    (tmp_path / "in.csv").write_text(
        "error,order_id,event_time,email,value,currency\nx,A-1,now-1h,a@example.com,1,EUR\n", encoding="utf-8"
    )
    result = run("validate", "in.csv", *VALIDATE, "--json", "-q")
    assert json.loads(result.stdout)["quality"]["unused_columns"] == {"in.csv": ["error"]}


def test_the_mapping_files_settings_take_the_timezone(run: Invoke, tmp_path: Path) -> None:
    """A CRM export in Tokyo time, without offsets: `timezone = "Asia/Tokyo"` in the mapping file's
    [settings] reads them right (in UTC they would be three hours in the future, and refused)."""
    ahead = (datetime.now(UTC) + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S")
    (tmp_path / "tokyo.csv").write_text(
        f"order_id,event_time,email,value,currency\nT-1,{ahead},a@example.jp,1000,JPY\n", encoding="utf-8"
    )
    (tmp_path / "map.toml").write_text(
        '[settings]\ntimezone = "Asia/Tokyo"\nevent_type = "PURCHASE"\nconversion_type = "OFFLINE"\n'
        'pixel_id = "P"\n',
        encoding="utf-8",
    )
    refused = run("validate", "tokyo.csv", "--json", "-q", "--event-type", "PURCHASE", "--pixel-id", "P",
                  "--conversion-type", "OFFLINE")  # fmt: skip
    assert (refused.exit_code, json.loads(refused.stdout)["invalid"]) == (1, 1)
    result = run("validate", "tokyo.csv", "--mapping", "map.toml", "--json", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["valid"] == 1
    flag_wins = run("validate", "tokyo.csv", "--mapping", "map.toml", "--timezone", "UTC", "--json", "-q")
    assert flag_wins.exit_code == 1
