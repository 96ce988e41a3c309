"""The library's front door: `snapcapi.upload` and `snapcapi.validate`, their settings and their report."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import snapcapi
from snapcapi.cli.app import app
from snapcapi.emulator import Emulator
from tests.conftest import HEADER, TOKEN, purchase, write_csv

PIXEL = "pixel-api"


@pytest.fixture(autouse=True)
def in_work_directory(clean_environment: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean environment (the conftest's), in a working directory of the test's own (so that no .env is
    read unless a test writes one)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_upload_sends_a_file_and_returns_the_report(api: Emulator, tmp_path: Path) -> None:
    """`snapcapi.upload(path, ...)` sends every row and returns the report; `count` takes a status name."""
    path = write_csv(tmp_path / "events.csv", HEADER, [purchase(i) for i in range(5)])
    report = snapcapi.upload(
        path, api_url=api.url, access_token=TOKEN, pixel_id=PIXEL, conversion_type="OFFLINE"
    )
    assert (report.rows, report.count("sent"), report.count(snapcapi.Status.SENT)) == (5, 5, 5)
    assert report.count("invalid") == 0
    assert len(api.core.store.kept(PIXEL)) == 5


def test_validate_takes_rows_already_in_memory(tmp_path: Path) -> None:
    """An iterable of dicts is an input: each dict is a row, numbered from 1, named `<rows N>`."""
    good = {"event_name": "PURCHASE", "event_time": "now-1h", "event_id": "o-1", "email": "a@example.com"}
    good |= {"value": "9.5", "currency": "EUR", "event_source_url": "https://shop.example.com/"}
    report_path = tmp_path / "report.jsonl"
    report = snapcapi.validate(
        iter([good, {"event_name": "PURCHASE"}]), pixel_id=PIXEL, report=report_path, workers=1
    )
    assert (report.count("valid"), report.count("invalid")) == (1, 1)
    records = _records(report_path)
    assert [(r["file"], r["line"], r["status"]) for r in records] == [
        ("<rows 1>", 1, "valid"),
        ("<rows 1>", 2, "invalid"),
    ]


def test_an_item_that_is_not_a_dict_is_an_invalid_row_not_a_crash() -> None:
    """A row that is not a mapping ends as one invalid row that says so."""
    report = snapcapi.validate([["not", "a", "dict"]], pixel_id=PIXEL)  # type: ignore[list-item]
    assert report.count("invalid") == 1
    assert str(report.failures[0].errors[0]) == "row: line 1: not a mapping of fields to values"


def test_a_single_dict_is_refused_as_an_input() -> None:
    """A dict on its own (not a list of them) is a TypeError, not a run over its keys."""
    with pytest.raises(TypeError, match="not a dict"):
        snapcapi.validate({"event_name": "PURCHASE"}, pixel_id=PIXEL)  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        (("keyword", "environment", "dotenv", "mapping"), "keyword"),
        (("environment", "dotenv", "mapping"), "environment"),
        (("dotenv", "mapping"), "dotenv"),
        (("mapping",), "mapping"),
    ],
)
def test_settings_follow_the_command_lines_precedence(
    layers: tuple[str, ...], expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keyword, then SNAPCAPI_* variable, then .env, then the mapping file's [settings]."""
    path = write_csv(tmp_path / "events.csv", HEADER, [purchase(0)])
    settings: dict[str, str | Path] = {"conversion_type": "OFFLINE", "report": tmp_path / "r.jsonl"}
    if "keyword" in layers:
        settings["pixel_id"] = "keyword"
    if "environment" in layers:
        monkeypatch.setenv("SNAPCAPI_PIXEL_ID", "environment")
    if "dotenv" in layers:
        Path(".env").write_text("SNAPCAPI_PIXEL_ID=dotenv\n", encoding="utf-8")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[settings]\npixel_id = "mapping"\n', encoding="utf-8")
    snapcapi.validate(path, mapping=mapping, **settings)  # type: ignore[arg-type]
    assert [r["asset_id"] for r in _records(tmp_path / "r.jsonl")] == [expected]


def test_map_takes_a_dict_as_well_as_field_equals_column(tmp_path: Path) -> None:
    """`map={"email": "Mail"}` is `--map email=Mail`."""
    header = [("Mail" if name == "email" else name) for name in HEADER]
    path = write_csv(tmp_path / "events.csv", header, [purchase(0)])
    as_dict = snapcapi.validate(path, pixel_id=PIXEL, conversion_type="OFFLINE", map={"email": "Mail"})
    as_text = snapcapi.validate(path, pixel_id=PIXEL, conversion_type="OFFLINE", map=["email=Mail"])
    assert as_dict.quality.identifiers == as_text.quality.identifiers
    assert "em" in as_dict.quality.identifiers


def test_an_unknown_keyword_is_a_type_error_naming_it() -> None:
    """A misspelt setting is refused as Python refuses any unexpected keyword, naming it."""
    with pytest.raises(TypeError, match="upload\\(\\) got an unexpected keyword argument 'pixle_id'"):
        snapcapi.upload("events.csv", pixle_id="1")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="validate\\(\\) got an unexpected keyword argument 'sandbox'"):
        snapcapi.validate("events.csv", sandbox=True)  # type: ignore[call-arg]


def test_a_value_out_of_range_is_a_config_error() -> None:
    """The bounds the command line enforces hold for keywords too."""
    with pytest.raises(snapcapi.ConfigError, match="batch_size 0 is not between 1 and 2000"):
        snapcapi.validate("events.csv", batch_size=0)


def test_count_refuses_a_name_that_is_not_a_status() -> None:
    """`count("sendt")` is an error, not a silent zero."""
    with pytest.raises(ValueError, match="'sendt' is not a valid Status"):
        snapcapi.validate([], pixel_id=PIXEL).count("sendt")


def test_errors_are_raised_with_the_secrets_redacted(tmp_path: Path) -> None:
    """A setting's error raised to the caller never carries the token."""
    path = write_csv(tmp_path / "events.csv", HEADER, [purchase(0)])
    with pytest.raises(snapcapi.ConfigError) as caught:
        snapcapi.upload(path, access_token=TOKEN, pixel_id=PIXEL, event_type=f"bad {TOKEN}")
    assert TOKEN not in str(caught.value)
    assert "is not one of Snap's event names" in str(caught.value)


def test_the_version_is_the_packages_and_what_the_command_line_prints() -> None:
    """`snapcapi.__version__` is the installed distribution's version and `snapcapi --version`'s."""
    assert snapcapi.__version__ == importlib.metadata.version("snapcapi")
    result = CliRunner().invoke(app, ["--version"])
    assert result.stdout == f"snapcapi {snapcapi.__version__}\n"


def test_every_public_name_is_importable_from_the_top() -> None:
    """Each name in `__all__` resolves, and `dir(snapcapi)` lists it."""
    for name in snapcapi.__all__:
        assert getattr(snapcapi, name) is not None
        assert name in dir(snapcapi)
    with pytest.raises(AttributeError):
        snapcapi.no_such_name  # noqa: B018


def test_importing_the_package_imports_no_pipeline() -> None:
    """`import snapcapi` stays light: the front door is imported when first used."""
    code = "import snapcapi, sys; print(sorted(m for m in sys.modules if m.startswith('snapcapi')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['snapcapi']"
