"""End to end: the `snapcapi` command against the emulator, both real processes on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EMAIL, HEADER, TOKEN, EmulatorProcess, Result, closed_port, purchase, write_csv

pytestmark = pytest.mark.e2e


def upload(cli: Callable[..., Result], emu: EmulatorProcess, path: Path, *args: str) -> Result:
    """Upload `path` to the emulator as OFFLINE events of one pixel."""
    return cli(
        "upload", str(path), "--api-url", emu.url, "--pixel-id", "px-1", "--conversion-type", "OFFLINE",
        "--access-token", TOKEN, "--no-progress", *args,
    )  # fmt: skip


def report_statuses(path: Path) -> dict[int, str]:
    """Line -> status of a JSON Lines report."""
    return {r["line"]: r["status"] for r in map(json.loads, path.read_text().splitlines())}


def test_thousands_of_rows_arrive_exactly_once_in_requests_of_at_most_2000(
    cli: Callable[..., Result], emulator: Callable[..., EmulatorProcess], tmp_path: Path
) -> None:
    """4500 rows make three requests (2000, 2000, 500) and every event arrives once."""
    emu = emulator("--access-token", TOKEN)
    path = write_csv(tmp_path / "big.csv", HEADER, [purchase(i) for i in range(4500)])
    result = upload(cli, emu, path, "--json")
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["sent"], summary["requests"]) == (4500, 4500, 3)
    stats = emu.stats()
    assert stats["events_kept"] == 4500
    assert stats["distinct_events"] == 4500
    assert stats["largest_batch"] == 2000


def test_a_mixed_file_ends_with_each_rows_status_and_exit_code_1(
    cli: Callable[..., Result], emulator: Callable[..., EmulatorProcess], tmp_path: Path
) -> None:
    """Valid rows are sent, bad rows invalid, the refused one rejected, a repeat skipped: exit 1."""
    emu = emulator("--access-token", TOKEN, "--reject-event-id", "ord-3")
    rows = [purchase(i) for i in range(1, 6)]
    rows.append(["ord-6", "PURCHSE", "now-2h", EMAIL.format(6), "", "", "1", "USD"])  # unknown event name
    rows.append(["ord-7", "PURCHASE", "now-2h", "", "", "Jo", "1", "USD"])  # nothing matchable
    rows.append(purchase(1))  # the same event_id again
    path = write_csv(tmp_path / "mixed.csv", HEADER, rows)
    report = tmp_path / "report.jsonl"
    result = upload(cli, emu, path, "--report", str(report))
    assert result.code == 1, result.stderr
    assert report_statuses(report) == {
        2: "sent", 3: "sent", 4: "rejected", 5: "sent", 6: "sent", 7: "invalid", 8: "invalid", 9: "skipped",
    }  # fmt: skip
    assert sorted(e["event"]["event_id"] for e in emu.events()) == ["ord-1", "ord-2", "ord-4", "ord-5"]


@pytest.mark.parametrize("refusal", [(), ("--refuse-without-index",)], ids=["with-index", "without-index"])
def test_a_refused_event_does_not_sink_its_batch(
    cli: Callable[..., Result],
    emulator: Callable[..., EmulatorProcess],
    tmp_path: Path,
    refusal: tuple[str, ...],
) -> None:
    """Two refused events among 300 are rejected; the other 298 are sent, each once."""
    emu = emulator(
        "--access-token", TOKEN, "--reject-event-id", "ord-17", "--reject-event-id", "ord-230", *refusal
    )
    path = write_csv(tmp_path / "refusals.csv", HEADER, [purchase(i) for i in range(300)])
    result = upload(cli, emu, path, "--json")
    assert result.code == 1, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["sent"], summary["rejected"]) == (298, 2)
    kept = [e["event"]["event_id"] for e in emu.events()]
    assert len(kept) == len(set(kept)) == 298
    assert "ord-17" not in kept
    assert "ord-230" not in kept


def test_a_wrong_token_exits_3_and_sends_nothing(
    cli: Callable[..., Result], emulator: Callable[..., EmulatorProcess], tmp_path: Path
) -> None:
    """Snap's 401 stops the run with exit 3; every row is failed, to be sent by a later run."""
    emu = emulator("--access-token", "the-right-one")
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(10)])
    result = upload(cli, emu, path, "--json")
    assert result.code == 3, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["failed"], summary["sent"]) == (10, 0)
    assert emu.stats()["events_kept"] == 0


def test_an_unreachable_api_exits_4_with_every_row_failed(cli: Callable[..., Result], tmp_path: Path) -> None:
    """Connection refused after the retries: exit 4, every row failed."""
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(5)])
    report = tmp_path / "report.jsonl"
    result = cli(
        "upload", str(path), "--api-url", f"http://127.0.0.1:{closed_port()}", "--pixel-id", "px-1",
        "--access-token", TOKEN, "--conversion-type", "OFFLINE", "--max-retries", "1",
        "--report", str(report),
    )  # fmt: skip
    assert result.code == 4, result.stderr
    assert set(report_statuses(report).values()) == {"failed"}


def test_faults_are_retried_until_every_row_is_sent(
    cli: Callable[..., Result], emulator: Callable[..., EmulatorProcess], tmp_path: Path
) -> None:
    """With 429s, 5xx answers and dropped connections, every row still ends sent, once."""
    emu = emulator(
        "--access-token", TOKEN, "--rate-429", "0.2", "--rate-5xx", "0.15", "--rate-drop", "0.1",
        "--seed", "7",
    )  # fmt: skip
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(300)])
    result = upload(cli, emu, path, "--batch-size", "25", "--max-retries", "20", "--json")
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["sent"] == 300
    stats = emu.stats()
    assert stats["distinct_events"] == 300
    assert stats["by_status"].get("200", 0) < stats["requests"]  # faults were injected, and retried


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_second_run_skips_what_the_first_delivered(
    cli: Callable[..., Result], emulator: Callable[..., EmulatorProcess], tmp_path: Path
) -> None:
    """The ledger: the same file uploaded twice is sent once; the second run skips every row, exit 0."""
    emu = emulator("--access-token", TOKEN)
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(50)])
    first = upload(cli, emu, path, "--json")
    second = upload(cli, emu, path, "--json")
    assert (first.code, second.code) == (0, 0)
    assert json.loads(second.stdout)["skipped"] == 50
    assert emu.stats()["events_kept"] == 50
