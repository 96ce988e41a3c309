"""The command line in-process (Typer's CliRunner): exit codes and the whole messages users see."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

import pytest
from typer.testing import CliRunner, Result

from snapcapi.cli.app import app
from snapcapi.emulator import Emulator, EmulatorConfig
from snapcapi.spec import EventName

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
OFFLINE = str(SAMPLES / "offline_purchases.csv")
WEB = str(SAMPLES / "web_events.csv")
APP = str(SAMPLES / "app_events.jsonl")


class Invoke(Protocol):
    """Runs the CLI with arguments (and optional standard input)."""

    def __call__(self, *args: str, stdin: str | None = None) -> Result: ...


@pytest.fixture
def run(clean_environment: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """Invoke the app with a clean environment, a private state directory and a wide terminal."""
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=stdin)

    return invoke


def test_event_types_lists_all_31_names_with_aliases(run: Invoke) -> None:
    """`snapcapi event-types --json` gives every predefined name and its aliases."""
    result = run("event-types", "--json")
    assert result.exit_code == 0
    names = json.loads(result.stdout)
    assert list(names) == [name.value for name in EventName]
    assert "Order Completed" in names["PURCHASE"]


@pytest.mark.parametrize(
    ("field", "value", "normalized", "digest"),
    [
        ("email", "Person@Example.com", "person@example.com",
         "542d240129883c019e106e3b1b2d3f3cb3537c43c425364de8e951d5a3083345"),
        ("phone", "+44 844 412 4653", "448444124653",
         "dc008fda46e2e64002cf2f82a4906236282d431c4f75e5b60bfe79fc48546383"),
        ("city", "Menlo Park", "menlopark",
         "0007a3d64c01e23d5075203c5977c14e4f7e01a3fc570686fcc50b5e1dd42685"),
    ],
)  # fmt: skip
def test_hash_prints_the_normalized_value_and_its_sha256(
    run: Invoke, field: str, value: str, normalized: str, digest: str
) -> None:
    """`snapcapi hash FIELD VALUE` shows the exact normalized value and the reference hash."""
    result = run("hash", field, value)
    assert result.exit_code == 0
    assert f"normalized  {normalized}\n" in result.stdout
    assert f"sha256      {digest}\n" in result.stdout


def test_hash_says_why_a_value_is_refused_and_exits_1(run: Invoke) -> None:
    """A value that cannot be normalized is refused with the reason, never echoed."""
    result = run("hash", "email", "jane.at.example.com")
    assert result.exit_code == 1
    assert result.stderr == "refused: email: not an email address\n"


def test_hash_of_an_unknown_field_exits_2(run: Invoke) -> None:
    """An unknown field name is a usage error listing the fields."""
    result = run("hash", "shoe_size", "42")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown field 'shoe_size'; the fields are: email, phone,")


def test_the_ip_address_is_shown_unhashed(run: Invoke) -> None:
    """Snap v3 wants the plain IP address: `hash` says it is sent as is."""
    result = run("hash", "ip_address", " 203.0.113.9 ")
    assert result.exit_code == 0
    assert "sent        203.0.113.9 (not hashed)" in result.stdout


def test_validate_of_the_offline_sample_names_each_bad_row_and_exits_1(run: Invoke) -> None:
    """The sample with typical mistakes: every bad row is reported by line, with the summary in JSON."""
    result = run("validate", OFFLINE, "--conversion-type", "OFFLINE", "--pixel-id", "px", "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("rows", "valid", "invalid", "skipped", "exit_code")} == {
        "rows": 10, "valid": 4, "invalid": 5, "skipped": 1, "exit_code": 1,
    }  # fmt: skip
    assert result.stderr.count("offline_purchases.csv") == 2  # the table's title, the unused columns
    assert "\nRows not valid in offline_purchases.csv" in result.stderr
    for line in ("4", "5", "6", "7", "10"):
        assert f"\n {line:>4} │ invalid " in result.stderr
    assert "olivia.brown" not in result.stderr + result.stdout


def test_upload_without_a_pixel_id_is_a_configuration_error(run: Invoke) -> None:
    """The asset a fixed conversion type needs is checked before any row is sent: exit 2, naming the flag."""
    result = run("upload", OFFLINE, "--conversion-type", "OFFLINE", "--access-token", "tok")
    assert result.exit_code == 2
    assert (
        result.stderr == "error: To send OFFLINE events, set a Pixel ID (--pixel-id or SNAPCAPI_PIXEL_ID)\n"
    )


def test_validate_without_a_pixel_id_checks_the_rows_and_warns_once(run: Invoke) -> None:
    """validate sends nothing, so it needs no Pixel ID: it checks every row as upload would, and warns
    once, before its verdict, that an upload will need the asset id."""
    result = run("validate", OFFLINE, "--conversion-type", "OFFLINE")
    assert result.exit_code == 1  # the sample's bad rows, on purpose
    assert result.stderr.endswith(
        "warning: 10 rows were checked without an asset id; to upload, set a Pixel ID (--pixel-id or"
        " SNAPCAPI_PIXEL_ID)\n"
        "10 rows: 4 valid, 1 skipped, 5 refused (--rejects PATH writes them out to fix and upload again)\n"
    )
    assert result.stderr.count("Pixel ID") == 1
    document = json.loads(run("validate", OFFLINE, "--conversion-type", "OFFLINE", "--json", "-q").stdout)
    assert (document["valid"], document["invalid"]) == (4, 5)
    assert document["warnings"] == [
        "10 rows were checked without an asset id; to upload, set a Pixel ID (--pixel-id or"
        " SNAPCAPI_PIXEL_ID)"
    ]


def test_upload_without_credentials_is_a_configuration_error(run: Invoke) -> None:
    """No token and no OAuth credentials: exit 2 before anything is sent, saying what to set."""
    result = run("upload", WEB, "--pixel-id", "px")
    assert result.exit_code == 2
    assert (
        "No credentials: set a Conversions API token (--access-token or SNAPCAPI_ACCESS_TOKEN)"
        in result.stderr
    )


def test_a_missing_file_exits_2_naming_it(run: Invoke) -> None:
    """An input that does not exist is an unreadable input: exit 2, nothing sent."""
    result = run("validate", "no-such-file.csv", "--pixel-id", "px")
    assert result.exit_code == 2
    assert "no-such-file.csv" in result.stderr


def test_upload_dry_run_equals_validate(run: Invoke) -> None:
    """`upload --dry-run` prints the same summary as `validate`."""
    args = (OFFLINE, "--conversion-type", "OFFLINE", "--pixel-id", "px", "--json")
    dry = json.loads(run("upload", "--dry-run", *args).stdout)
    plain = json.loads(run("validate", *args).stdout)
    assert dry == plain


def test_validate_reads_standard_input(run: Invoke) -> None:
    """`-` reads the rows from stdin, with line numbers as in a file."""
    data = Path(WEB).read_text(encoding="utf-8")
    result = run("validate", "-", "--pixel-id", "px", "--json", stdin=data)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["valid"] == 8


@pytest.mark.parametrize(("sample", "extra"), [(WEB, ()), (APP, ("--conversion-type", "MOBILE_APP"))])
def test_the_samples_upload_cleanly_to_the_sandbox(run: Invoke, sample: str, extra: tuple[str, ...]) -> None:
    """The README's main command: a bundled sample sent to the in-process emulator, exit 0."""
    result = run("upload", sample, "--sandbox", "--json", *extra)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["sent"] == summary["rows"] > 0


def test_report_and_rejects_files_are_written(run: Invoke, tmp_path: Path) -> None:
    """--report holds one record per row; --rejects the refused rows with their columns and an error."""
    report, rejects = tmp_path / "report.jsonl", tmp_path / "rejects.csv"
    result = run(
        "validate", OFFLINE, "--conversion-type", "OFFLINE", "--pixel-id", "px",
        "--report", str(report), "--rejects", str(rejects),
    )  # fmt: skip
    assert result.exit_code == 1
    records = [json.loads(line) for line in report.read_text().splitlines()]
    assert [r["line"] for r in records] == list(range(2, 12))
    assert {r["status"] for r in records} == {"valid", "invalid", "skipped"}
    header, *rows = rejects.read_text().splitlines()
    assert header.endswith(",error")
    assert len(rows) == 5
    assert report.stat().st_mode & 0o777 == 0o600


def test_validate_remote_maps_the_test_endpoint_answers_to_rows(run: Invoke) -> None:
    """`validate --remote` sends to /events/validate; Snap's per-event logs become row statuses."""
    config = EmulatorConfig(access_tokens=frozenset({"tok"}), reject_event_ids=frozenset({"web-000103"}))
    with Emulator(config) as emulator:
        result = run(
            "validate", WEB, "--remote", "--api-url", emulator.url, "--access-token", "tok",
            "--pixel-id", "px", "--json",
        )  # fmt: skip
        kept = emulator.events()
    assert result.exit_code == 1, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["valid"], summary["rejected"]) == (7, 1)
    assert kept == []  # the test endpoint counts nothing


def test_fixed_mobile_app_rows_without_an_app_id_are_a_configuration_error(
    run: Invoke, tmp_path: Path
) -> None:
    """MOBILE_APP for every row, no --app-id and no app id column: exit 2 before any row, naming the flag."""
    path = tmp_path / "app.csv"
    path.write_text("event_name,event_time,madid\nAPP_OPEN,now-1h,6d92078a-8246-4ba4-ae5b-76104861e7dc\n")
    result = run("validate", str(path), "--conversion-type", "MOBILE_APP", "--snap-app-id", "s")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: To send MOBILE_APP events, set the store App ID (--app-id or SNAPCAPI_APP_ID)\n"
    )
