"""What the command line says when a run fails, asks for something odd, or is read from cron: exit codes
and whole messages, through Typer's CliRunner (fixed width, no colour)."""

from __future__ import annotations

import io
import json
import re
import socket
import time
from pathlib import Path
from typing import Protocol

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from snapcapi.cli.app import app
from snapcapi.cli.retries import Requests
from snapcapi.emulator import Emulator, EmulatorConfig
from snapcapi.model import RunReport
from snapcapi.outputs.progress import progress
from snapcapi.send.client import AttemptLog, RetryWait

ROOT = Path(__file__).resolve().parent.parent
WEB = str(ROOT / "samples" / "web_events.csv")


class Invoke(Protocol):
    """Runs the CLI with arguments."""

    def __call__(self, *args: str) -> Result: ...


@pytest.fixture
def run(clean_environment: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Invoke the app with a clean environment and a private state directory, in `tmp_path`, at 80
    columns (what cron gives)."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- -q never hides why a run failed ----------------------------------------------------------------------


def test_quiet_still_says_that_a_file_is_missing(run: Invoke) -> None:
    """Exit 2 with -q: one line on stderr, which cron mails."""
    result = run("upload", "nothere.csv", "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", "error: nothere.csv: no such file\n")


def test_quiet_still_says_that_the_token_was_refused(run: Invoke) -> None:
    """Exit 3 with -q: the refusal, in one line, without the token."""
    with Emulator(EmulatorConfig(access_tokens=frozenset({"good-token"}))) as emulator:
        result = run(
            "upload", WEB, "--api-url", emulator.url, "--access-token", "bad-token-123", "--pixel-id", "px",
            "--no-ledger", "-q",
        )  # fmt: skip
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: stopped: ")
    assert "bad-token-123" not in result.stderr


def test_quiet_still_says_that_rows_were_not_delivered(run: Invoke) -> None:
    """Exit 4 with -q: how many rows, why, and what to do."""
    url = f"http://127.0.0.1:{closed_port()}"
    result = run(
        "upload", WEB, "--api-url", url, "--access-token", "tok", "--pixel-id", "px", "--no-ledger",
        "--max-retries", "0", "-q",
    )  # fmt: skip
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr == (
        "error: 8 rows not delivered (connection refused by 127.0.0.1 after 1 attempt); run again to send"
        " them\n"
    )


def test_quiet_still_says_that_max_invalid_stopped_the_run(run: Invoke, tmp_path: Path) -> None:
    """A --max-invalid stop with -q: the line that says where and why it stopped."""
    rows = "".join(f"PURCHASE,now-1h,e-{i},not-an-email\n" for i in range(150))
    (tmp_path / "bad.csv").write_text("event_name,event_time,event_id,email\n" + rows, encoding="utf-8")
    result = run("validate", "bad.csv", "--pixel-id", "px", "--max-invalid", "0.1", "-q")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: stopped after 100 rows: 100.0% of them are invalid, over --max-invalid 0.1\n"
    )


def test_quiet_prints_nothing_for_a_run_that_only_refused_rows(run: Invoke, tmp_path: Path) -> None:
    """Invalid rows are the report's business (--report, --rejects): -q keeps them quiet, exit 1."""
    (tmp_path / "bad.csv").write_text(
        "event_name,event_time,event_id,email\nPURCHASE,now-1h,e-1,not-an-email\n", encoding="utf-8"
    )
    result = run("validate", "bad.csv", "--pixel-id", "px", "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", "")


def test_quiet_json_keeps_stdout_a_json_document_and_the_error_on_stderr(run: Invoke) -> None:
    """With --json -q, standard output stays one JSON object; the reason goes to stderr too."""
    result = run("upload", "nothere.csv", "-q", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {"error": "nothere.csv: no such file", "exit_code": 2}
    assert result.stderr == "error: nothere.csv: no such file\n"


# --- advice, standard output, and which setting wins --------------------------------------------------------


def test_report_dash_writes_the_report_to_standard_output(run: Invoke, tmp_path: Path) -> None:
    """`--report -` means standard output, as `-` means standard input for FILE: no file named `-`."""
    result = run("validate", WEB, "--pixel-id", "px", "--report", "-", "-q")
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["line"], r["status"]) for r in records] == [(line, "valid") for line in range(2, 10)]
    assert not (tmp_path / "-").exists()


def test_rejects_dash_writes_the_rejects_to_standard_output(run: Invoke, tmp_path: Path) -> None:
    """`--rejects -` writes the refused rows, in the input's format, to standard output."""
    (tmp_path / "in.csv").write_text(
        "event_name,event_time,event_id,email\nPURCHASE,now-1h,e-1,not-an-email\n", encoding="utf-8"
    )
    result = run("validate", "in.csv", "--pixel-id", "px", "--rejects", "-", "-q")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "event_name,event_time,event_id,email,error"
    assert result.stdout.splitlines()[1].startswith("PURCHASE,now-1h,e-1,not-an-email,")
    assert not (tmp_path / "-").exists()


def test_json_and_report_dash_cannot_share_standard_output(run: Invoke) -> None:
    """A JSON summary and report records on one stream would be neither: exit 2, saying so."""
    result = run("validate", WEB, "--pixel-id", "px", "--report", "-", "--json")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: --json and --report - both write to standard output; give --report a file\n"
    )


def test_report_and_rejects_cannot_both_be_standard_output(run: Invoke) -> None:
    """Two formats on one stream: exit 2 before anything is read."""
    result = run("validate", WEB, "--pixel-id", "px", "--report", "-", "--rejects", "-")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --report and --rejects are both standard output (-); give each its own\n"
    )


def test_sandbox_with_an_api_url_says_the_sandbox_wins(run: Invoke) -> None:
    """--sandbox needs no credentials, so it never sends to a real API: an --api-url given with it is
    named as unused, once, before the verdict."""
    result = run("upload", WEB, "--sandbox", "--api-url", "https://tr.example.com")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.endswith(
        "warning: --sandbox wins over --api-url: nothing goes to https://tr.example.com\n8 rows: 8 sent\n"
    )


# --- an unreachable API is never retried in silence ---------------------------------------------------------

ATTEMPT = r"POST px 8 events: connection refused by 127\.0\.0\.1 in \d+ ms \(attempt {}\)"
RETRY = r"retry {} of 2 in \d+\.\d s \(connection refused by 127\.0\.0\.1; trying for \d+\.\d s\)"


def test_verbose_shows_each_attempt_and_each_wait_and_the_end_says_how_long(run: Invoke) -> None:
    """-v: every attempt, and every wait before a retry, one line each; the verdict (here, with -q too,
    the one error line) says how many attempts over how long."""
    url = f"http://127.0.0.1:{closed_port()}"
    args = ("upload", WEB, "--api-url", url, "--access-token", "tok", "--pixel-id", "px", "--no-ledger")
    result = run(*args, "--max-retries", "2", "-v", "--json")
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    expected = [ATTEMPT.format(1), RETRY.format(1), ATTEMPT.format(2), RETRY.format(2), ATTEMPT.format(3)]
    assert len(lines) > len(expected)
    for line, pattern in zip(lines, expected, strict=False):
        assert re.fullmatch(pattern, line), line
    assert lines[len(expected)] == ""  # then the human report
    quiet = run(*args, "--max-retries", "1", "-q")
    assert quiet.exit_code == 4
    assert re.fullmatch(
        r"error: 8 rows not delivered \(connection refused by 127\.0\.0\.1 after 2 attempts over \d+\.\d s\);"
        r" run again to send them\n",
        quiet.stderr,
    )


def test_the_progress_line_counts_down_the_wait_before_a_retry() -> None:
    """On a terminal, the progress line carries the current wait (redrawn as it refreshes), and drops it
    once the next attempt is made."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100, color_system=None)
    requests = Requests(console, verbose=False)
    wait = RetryWait("px", 8, 3, 9, "connection refused by 127.0.0.1", 4.0, 7.5)
    requests.on_retry(wait)
    note = requests.status()
    assert note is not None
    assert re.fullmatch(
        r"retry 3 of 8 in [34]\.\d s \(connection refused by 127\.0\.0\.1; trying for 7\.5 s\)", note
    )
    with progress(console, RunReport, [], enabled=True, send=True, status=requests.status):
        time.sleep(0.3)  # the live line refreshes on its own, 10 times a second
    assert "· retry 3 of 8 in " in buffer.getvalue()
    requests.on_attempt(AttemptLog("px", 8, 4, 200, 0.01, None))
    assert requests.status() is None
    assert buffer.getvalue().count("POST") == 0  # not --verbose: no attempt lines


# --- tables at 80 columns -----------------------------------------------------------------------------------


def test_the_human_report_reads_at_80_columns_with_the_file_named_once(run: Invoke, tmp_path: Path) -> None:
    """At 80 columns (cron), a long file name is never broken mid-word: it titles the table of its rows,
    once, and the reasons keep the width; a row's line is shown once above its problems; 1 row, not 1
    rows."""
    name = "a_rather_long_export_file_name_from_the_crm_2026.csv"
    (tmp_path / name).write_text(
        "event_name,event_time,event_id,email,phone\nPURCHASE,now-1h,e-1,not-an-email,\n", encoding="utf-8"
    )
    result = run("validate", name, "--pixel-id", "px", "--conversion-type", "OFFLINE")
    assert result.exit_code == 1
    assert [line.rstrip() for line in result.stderr.splitlines()] == [
        "",
        "snapcapi validate: 1 row",
        " event name ┃ valid ┃ invalid ┃ rejected ┃ skipped",
        "━━━━━━━━━━━━╇━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━",
        " PURCHASE   │     0 │       1 │        0 │       0",
        "────────────┼───────┼─────────┼──────────┼─────────",
        " all rows 1 │     0 │       1 │        0 │       0",
        "",
        f"Rows not valid in {name}",
        " line ┃ status  ┃ field     ┃ reason",
        "━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━",
        "    2 │ invalid │ user_data │ no matchable identifier (needs email, phone,",
        "      │         │           │ mobile ad id, or IP address + user agent)",
        "      │ invalid │ value     │ missing; PURCHASE events need a value and a",
        "      │         │           │ currency",
        "      │ invalid │ currency  │ missing; PURCHASE events need a value and a",
        "      │         │           │ currency",
        "      │ warning │ email     │ dropped: not an email address",
        "",
        "Data quality",
        " rows with           ┃ rows ┃ share",
        "━━━━━━━━━━━━━━━━━━━━━╇━━━━━━╇━━━━━━━",
        " matchable and valid │    0 │    0%",
        " older than 7 days   │    0 │    0%",
        " duplicate event ids │    0 │    0%",
        "1 row: 0 valid, 1 refused (--rejects PATH writes them out to fix and upload",
        "again)",
    ]
    assert max(len(line) for line in result.stderr.splitlines()) <= 80


def test_several_files_each_title_their_own_rows(run: Invoke, tmp_path: Path) -> None:
    """With two files, each file's refused rows come under their own title."""
    for name in ("first.csv", "second.csv"):
        (tmp_path / name).write_text(
            "event_name,event_time,event_id,email\nPAGE_VIEW,now-1h,e-1,not-an-email\n", encoding="utf-8"
        )
    result = run("validate", "first.csv", "second.csv", "--pixel-id", "px", "--conversion-type", "OFFLINE")
    assert result.exit_code == 1
    titles = [line.rstrip() for line in result.stderr.splitlines() if line.startswith("Rows not valid")]
    assert titles == ["Rows not valid in first.csv", "Rows not valid in second.csv"]
    assert (
        result.stderr.splitlines()[-2].rstrip()
        == "2 rows: 0 valid, 2 refused (--rejects PATH writes them out to fix and upload"
    )
