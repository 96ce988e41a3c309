"""`--max-invalid RATE`: a file whose share of invalid rows passes RATE (after 100 rows) stops before
sending more and ends with exit 1, so that a broken export does not go out half-sent.

The CLI runs in-process against an emulator in this process; what arrived is read from the emulator.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from snapcapi.emulator import Emulator
from tests.conftest import HEADER, TOKEN, Invoke, crashed, purchase, write_csv


def row(i: int, *, valid: bool) -> list[object]:
    """Row `i`: a valid purchase, or one with an event name Snap does not know."""
    values = purchase(i)
    if not valid:
        values[1] = "NOPE"
    return values


def upload(
    invoke: Invoke, api: Emulator, path: Path, rate: str, *args: str
) -> tuple[int, str, dict[str, object]]:
    """Upload `path` with --max-invalid `rate` and --json; return the exit code, stderr and the summary."""
    result = invoke(
        "upload", str(path), "--api-url", api.url, "--access-token", TOKEN, "--pixel-id", "px",
        "--conversion-type", "OFFLINE", "--max-invalid", rate, "--no-progress", "--json", *args,
    )  # fmt: skip
    assert crashed(result) is None
    return result.exit_code, result.stderr, json.loads(result.stdout)


@pytest.fixture
def one_in_three_invalid(tmp_path: Path) -> Path:
    """300 rows, every third one invalid."""
    rows = [row(i, valid=i % 3 != 0) for i in range(300)]
    return write_csv(tmp_path / "broken.csv", HEADER, rows)


def test_over_the_rate_nothing_is_sent_and_the_run_exits_1(
    invoke: Invoke, api: Emulator, one_in_three_invalid: Path
) -> None:
    """A third of the rows invalid, --max-invalid 0.1: no request reaches Snap, exit 1."""
    code, stderr, summary = upload(invoke, api, one_in_three_invalid, "0.1")
    assert code == 1, stderr
    assert api.stats()["requests"] == 0
    assert (summary["sent"], summary["exit_code"]) == (0, 1)


def test_over_the_rate_the_message_says_when_and_why_the_run_stopped(
    invoke: Invoke, api: Emulator, one_in_three_invalid: Path
) -> None:
    """The human report and the JSON summary say after how many rows, what share, and which limit."""
    _, stderr, summary = upload(invoke, api, one_in_three_invalid, "0.1")
    message = "stopped after 100 rows: 34.0% of them are invalid, over --max-invalid 0.1"
    assert message in stderr
    assert summary["budget_stop"] == message
    assert summary["rows"] == 100  # nothing past the stop was read


def test_invalid_rows_late_in_a_file_stop_it_before_the_rest_is_sent(
    invoke: Invoke, api: Emulator, tmp_path: Path
) -> None:
    """1500 good rows, 200 bad ones, 300 good ones, --max-invalid 0.05: none of the last 300 is sent."""
    rows = [row(i, valid=not 1500 <= i < 1700) for i in range(2000)]
    path = write_csv(tmp_path / "late.csv", HEADER, rows)
    code, stderr, summary = upload(invoke, api, path, "0.05")
    assert code == 1, stderr
    sent = {str(e["event"]["event_id"]) for e in api.events()}
    assert sent <= {f"ord-{i}" for i in range(1500)}
    assert summary["sent"] == len(sent)
    assert "over --max-invalid 0.05" in summary["budget_stop"]  # type: ignore[operator]


def test_under_the_rate_every_valid_row_is_sent(invoke: Invoke, api: Emulator, tmp_path: Path) -> None:
    """Two invalid rows in 300, --max-invalid 0.05: the 298 others are sent; exit 1 for the two."""
    rows = [row(i, valid=i not in (40, 250)) for i in range(300)]
    path = write_csv(tmp_path / "mostly_good.csv", HEADER, rows)
    code, stderr, summary = upload(invoke, api, path, "0.05")
    assert code == 1, stderr
    assert (summary["sent"], summary["invalid"]) == (298, 2)
    assert "budget_stop" not in summary
    assert api.stats()["distinct_events"] == 298
