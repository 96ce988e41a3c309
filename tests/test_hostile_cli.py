"""Hostile input through the command line: every file gives a message naming it (and the line), one of the
documented exit codes, and never a traceback.

`tests/test_readers.py` checks what the reader makes of each file of `tests/hostile/`; these tests check
what a user sees: `snapcapi validate FILE`, run in-process (CliRunner keeps standard error apart).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tempfile
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import Result as InProcessResult

from snapcapi.emulator import Emulator
from tests.conftest import TOKEN, Invoke, crashed

HOSTILE = Path(__file__).parent / "hostile"
MIB = 1024 * 1024
VALIDATE = ("validate", "--pixel-id", "px", "--no-progress")

# Exit 2: the file cannot be read as a whole. Exit 0: nothing in it to refuse. Every other file of the
# corpus has rows, and rows it cannot read (or that lack Snap's fields) are invalid: exit 1.
UNREADABLE = {
    "archive.zip": "is a zip archive; unzip it first",
    "array.json": "is a JSON array, not JSON Lines",
    "binary_garbage.bin": "the header row cannot be read: line 1: not valid UTF-8",
    "blank_lines_only.csv": "empty file, no header row",
    "corrupt.csv.gz": "not valid gzip data",
    "duplicate_header.csv": "the header repeats column names: email",
    "empty.csv": "empty file, no header row",
    "empty_header_name.csv": "header columns 2, 4 have no name",
    "pretty.json": "is one JSON document over several lines, not JSON Lines",
    "truncated.csv.gz": "compressed data ends too early",
    "utf16.csv": "is UTF-16 text; save it as UTF-8",
    "utf16_no_bom.csv": "the header row cannot be read: line 1: contains a NUL byte",
}
NOTHING_TO_REFUSE = {"header_only.csv"}
CORPUS = sorted(p.name for p in HOSTILE.iterdir() if p.name != "README.md")


def expected_code(name: str) -> int:
    """The exit code `validate` must end with for a file of the corpus."""
    if name in UNREADABLE:
        return 2
    return 0 if name in NOTHING_TO_REFUSE else 1


def table_row(name: str, line: int) -> re.Pattern[str]:
    """A row of the human report's table of refused rows of `name` (named in the table's title), at
    `line`."""
    return re.compile(
        rf"^Rows not valid in {re.escape(name)}\b.*^ +{line} │ invalid ", re.MULTILINE | re.DOTALL
    )


@pytest.mark.parametrize("name", [n for n in CORPUS if n in UNREADABLE])
def test_an_unreadable_hostile_file_exits_2_naming_the_file_and_the_problem(
    invoke: Invoke, name: str
) -> None:
    """The one error line names the file as given and says what is wrong with it."""
    path = str(HOSTILE / name)
    result = invoke(*VALIDATE, path)
    assert crashed(result) is None
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}")
    assert UNREADABLE[name] in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", [n for n in CORPUS if n not in UNREADABLE])
def test_a_readable_hostile_file_gives_each_bad_row_its_file_and_line(
    invoke: Invoke, name: str, tmp_path: Path
) -> None:
    """Rows that cannot be read are invalid, each shown with its file and line; the run ends 0 or 1."""
    report = tmp_path / "report.jsonl"
    result = invoke(*VALIDATE, str(HOSTILE / name), "--report", str(report))
    assert crashed(result) is None
    assert result.exit_code == expected_code(name), result.stderr
    assert "Traceback" not in result.output
    records = [json.loads(line) for line in report.read_text().splitlines()]
    unreadable = [r for r in records if any(e.startswith("row: line ") for e in r["errors"])]
    for record in unreadable[:20]:  # the human report lists the first 20
        assert record["errors"][0].startswith(f"row: line {record['line']}:")
        assert table_row(name, record["line"]).search(result.stderr), record
    rows = "1 row" if len(records) == 1 else f"{len(records)} rows"
    assert re.search(rf"^{rows}: ", result.stderr, re.MULTILINE)


def test_a_stray_quote_costs_one_row_and_every_line_keeps_a_status(invoke: Invoke, tmp_path: Path) -> None:
    """Issue 18: a 20,002-line CSV with an unclosed quote on line 2 was `1 row: 1 refused`. Now line 2 is
    the one refused row (in the rejects file, to fix), and the 20,000 lines after it are valid rows."""
    path = tmp_path / "events.csv"
    with path.open("w") as out:
        out.write("event_id,event_name,event_time,email\n")
        out.write('e2,PURCHASE,now-2h,"stray@example.com\n')
        out.writelines(f"e{i},SIGN_UP,now-2h,user{i}@example.com\n" for i in range(3, 20_003))
    rejects = tmp_path / "rejects.csv"
    result = invoke(*VALIDATE, str(path), "--conversion-type", "OFFLINE", "--rejects", str(rejects), "--json")
    assert crashed(result) is None
    assert result.exit_code == 1, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["valid"], summary["invalid"]) == (20_001, 20_000, 1)
    rejected = rejects.read_text().splitlines()
    assert len(rejected) == 2  # the header, and line 2
    assert "line 2: a quoted field opened on this line never closes" in rejected[1]
    assert "lines 3-20002 read as rows of their own" in rejected[1]


def test_the_corpus_has_files_of_every_outcome() -> None:
    """The tables name files of the corpus, and it has files of each outcome: exit 0, 1 and 2."""
    assert set(UNREADABLE) <= set(CORPUS)
    assert set(CORPUS) >= NOTHING_TO_REFUSE
    assert {expected_code(name) for name in CORPUS} == {0, 1, 2}


# -- files that are not there, or not files -----------------------------------------------------------------


def test_a_missing_file_exits_2_naming_it(invoke: Invoke, tmp_path: Path) -> None:
    """A path that does not exist: exit 2, `error: PATH: no such file`."""
    path = tmp_path / "nowhere.csv"
    result = invoke(*VALIDATE, str(path))
    assert (result.exit_code, crashed(result)) == (2, None)
    assert result.stderr == f"error: {path}: no such file\n"


def test_a_file_that_disappeared_behind_its_link_exits_2_naming_the_link(
    invoke: Invoke, tmp_path: Path
) -> None:
    """A symbolic link whose file was deleted (a file that disappeared): exit 2, named as given."""
    target = tmp_path / "export.csv"
    target.write_text("event_id\n1\n")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    target.unlink()
    result = invoke(*VALIDATE, str(link))
    assert (result.exit_code, crashed(result)) == (2, None)
    assert result.stderr == f"error: {link}: no such file\n"


def test_a_directory_exits_2_saying_it_is_not_a_file(invoke: Invoke, tmp_path: Path) -> None:
    """A directory given as a file: exit 2, `error: PATH: is a directory, not a file`."""
    result = invoke(*VALIDATE, str(tmp_path))
    assert (result.exit_code, crashed(result)) == (2, None)
    assert result.stderr == f"error: {tmp_path}: is a directory, not a file\n"


@contextmanager
def unprivileged() -> Iterator[None]:
    """Act as the user `nobody` (effective uid) when running as root, whom file modes do not stop."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


def test_a_file_without_read_permission_exits_2_saying_so(invoke: Invoke) -> None:
    """A file of mode 000: exit 2, `error: PATH: permission denied`."""
    # Outside pytest's private temporary directory, which `nobody` could not even enter.
    with tempfile.TemporaryDirectory() as directory:
        os.chmod(directory, 0o711)  # noqa: S103  (`nobody` must reach the file: its own mode stops it)
        path = Path(directory) / "locked.csv"
        path.write_text("event_id,email\n1,a@example.com\n")
        path.chmod(0o000)
        with unprivileged():
            result = invoke(*VALIDATE, str(path))
    assert (result.exit_code, crashed(result)) == (2, None)
    assert result.stderr == f"error: {path}: permission denied\n"


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux's /proc")
def test_a_file_whose_reads_fail_exits_2_naming_it(invoke: Invoke) -> None:
    """A file that opens but cannot be read (an I/O error): exit 2, `error: PATH: read error (...)`."""
    result = invoke(*VALIDATE, "/proc/self/mem")
    assert (result.exit_code, crashed(result)) == (2, None)
    assert result.stderr.startswith("error: /proc/self/mem: read error (")


# -- anything at all ----------------------------------------------------------------------------------------

TEXTY = st.text(
    alphabet=st.sampled_from(list("event_id,name;|\t\"'\r\n{}[]:@.0123456789 \x00é\ufeff")), max_size=300
)


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A file name and its bytes: random bytes, or text made of the characters that trouble readers, after
    an optional header of real column names; sometimes gzip-compressed."""
    suffix = draw(st.sampled_from([".csv", ".tsv", ".jsonl", ".json", ".txt", ""]))
    if draw(st.booleans()):
        data = draw(st.binary(max_size=400))
    else:
        header = draw(
            st.sampled_from(["", "event_id,event_name,event_time,email\n", '{"email": "a@b.co"}\n'])
        )
        data = (header + draw(TEXTY)).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        cut = draw(st.integers(min_value=0, max_value=64))
        data = gzip.compress(data)[: None if draw(st.booleans()) else cut]
        suffix += ".gz"
    return "input" + suffix, data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=hostile_files())
def test_any_bytes_give_a_documented_exit_code_and_no_traceback(
    invoke: Invoke, tmp_path: Path, file: tuple[str, bytes]
) -> None:
    """Whatever a file holds, validate ends with 0, 1 or 2, never with an unexpected exception."""
    name, data = file
    path = tmp_path / name
    path.write_bytes(data)
    result = invoke(*VALIDATE, str(path))
    assert crashed(result) is None
    assert result.exit_code in (0, 1, 2)
    if result.exit_code == 2:
        assert result.stderr.startswith(f"error: {path}")


# -- big fields ---------------------------------------------------------------------------------------------


def peak_memory(invoke: Invoke, *args: str) -> tuple[int, int]:
    """Run the CLI in-process; return its exit code and the peak of Python memory it allocated."""
    tracemalloc.start()
    try:
        result = invoke(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert crashed(result) is None
    return result.exit_code, peak


def test_a_field_of_several_megabytes_is_read_in_bounded_memory(invoke: Invoke, tmp_path: Path) -> None:
    """A 6 MiB field is read (the row is valid), and a 9 MiB line, over the record limit, is an invalid row
    named by its line; memory peaks far below what holding the 15 MiB file several times over would take."""
    path = tmp_path / "big.csv"
    with path.open("w") as out:
        out.write("event_id,event_name,event_time,ip_address,user_agent\n")
        out.write(f"a,PAGE_VIEW,now-2h,192.0.2.1,{'u' * (6 * MIB)}\n")
        out.write(f"b,PAGE_VIEW,now-2h,192.0.2.2,{'v' * (9 * MIB)}\n")
        out.write("c,PAGE_VIEW,now-2h,192.0.2.3,Mozilla/5.0\n")
    report = tmp_path / "report.jsonl"
    code, peak = peak_memory(
        invoke, *VALIDATE, str(path), "--conversion-type", "OFFLINE", "--report", str(report)
    )
    assert code == 1
    statuses = [
        (r["line"], r["status"], r["errors"]) for r in map(json.loads, report.read_text().splitlines())
    ]
    assert statuses == [
        (2, "valid", []),
        (3, "invalid", ["row: line 3: longer than 8 MiB; the record was skipped"]),
        (4, "valid", []),
    ]
    assert peak < 80 * MIB


def test_memory_does_not_grow_with_the_number_of_rows_with_big_fields(invoke: Invoke, tmp_path: Path) -> None:
    """Rows with a 2 MiB field each are held a few at a time: three times as many of them (72 MiB of
    rows) take about the same peak memory as 24 MiB of them, well under what holding them all would."""

    def peak_for(rows: int) -> int:
        path = tmp_path / f"wide-{rows}.csv"
        with path.open("w") as out:
            out.write("event_id,event_name,event_time,ip_address,user_agent\n")
            for i in range(rows):
                out.write(f"e{i},PAGE_VIEW,now-2h,192.0.2.1,{'u' * (2 * MIB)}\n")
        code, peak = peak_memory(invoke, *VALIDATE, str(path), "--conversion-type", "OFFLINE")
        assert code == 0
        return peak

    few, many = peak_for(12), peak_for(36)
    assert many < 1.5 * few
    assert many < 60 * MIB  # the 36 rows alone are 72 MiB


def test_a_file_name_that_is_not_utf8_is_written_to_the_report_and_summary_as_escapes(
    invoke: Invoke, tmp_path: Path
) -> None:
    """A name with a Latin-1 byte (as old exports have) reaches the report and --json as a \\udcXX escape,
    which reads back as the very name given, instead of crashing the writer."""
    path = Path(os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9.csv"))
    path.write_text("event_id,event_name,event_time,email,note\n1,PAGE_VIEW,now-2h,a@example.com,x\n")
    report = tmp_path / "report.jsonl"
    result = invoke(*VALIDATE, str(path), "--report", str(report), "--json")
    assert crashed(result) is None
    assert result.exit_code == 1  # WEB events need a page URL
    assert "\\udce9" in report.read_text()
    assert [json.loads(line)["file"] for line in report.read_text().splitlines()] == [str(path)]
    assert json.loads(result.stdout)["quality"]["unused_columns"] == {str(path): ["note"]}


def test_a_file_name_with_brackets_is_shown_as_given(invoke: Invoke, tmp_path: Path) -> None:
    """Brackets in a file name are text, not the terminal styles of the human report."""
    path = tmp_path / "[red]export.csv"
    path.write_text("event_id,event_name\n1,NOPE\n")
    result = invoke(*VALIDATE, str(path))
    assert (result.exit_code, crashed(result)) == (1, None)
    assert table_row("[red]export.csv", 2).search(result.stderr)


# -- an input that breaks off while it is uploaded ----------------------------------------------------------


@pytest.fixture
def broken_off(tmp_path: Path) -> Path:
    """A gzip file of 5000 rows cut short: its start reads well, it breaks off after some 4500 rows."""
    lines = ["event_id,event_name,event_time,email,value,currency"]
    lines += [f"ord-{i},PURCHASE,now-2h,a{i}@example.com,1,USD" for i in range(5000)]
    data = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    path = tmp_path / "export.csv.gz"
    path.write_bytes(data[: len(data) * 9 // 10])
    return path


def upload_broken(invoke: Invoke, api: Emulator, path: Path, report: Path) -> InProcessResult:
    """Upload `path` to `api` in requests of 500, with a report and --json."""
    return invoke(
        "upload", str(path), "--api-url", api.url, "--access-token", TOKEN, "--pixel-id", "px",
        "--conversion-type", "OFFLINE", "--batch-size", "500", "--no-progress", "--json",
        "--report", str(report),
    )  # fmt: skip


def test_an_input_that_breaks_off_mid_upload_exits_5_naming_the_file_and_line(
    invoke: Invoke, api: Emulator, broken_off: Path, tmp_path: Path
) -> None:
    """The run ends with exit 5 (not 2, "nothing was sent": the rows before the damage were sent) and,
    last, the error naming the file and the last line read."""
    result = upload_broken(invoke, api, broken_off, tmp_path / "report.jsonl")
    assert (result.exit_code, crashed(result)) == (5, None)
    assert json.loads(result.stdout)["sent"] > 0
    last = result.stderr.rstrip("\n").splitlines()[-1]
    assert re.fullmatch(rf"error: {re.escape(str(broken_off))}: compressed data ends too early \(a truncated"
                        r" file\?\) after line \d+", last)  # fmt: skip
    assert json.loads(result.stdout)["error"] == last.removeprefix("error: ")


def test_an_input_that_breaks_off_mid_upload_still_reports_what_was_sent(
    invoke: Invoke, api: Emulator, broken_off: Path, tmp_path: Path
) -> None:
    """The report is written: one record per row that got an outcome, its `sent` rows exactly those Snap
    took, so that the user knows what the next run (after the file is fixed) will skip."""
    report = tmp_path / "report.jsonl"
    result = upload_broken(invoke, api, broken_off, report)
    records = [json.loads(line) for line in report.read_text().splitlines()]
    sent = sorted(r["event_id"] for r in records if r["status"] == "sent")
    assert sent
    assert sent == sorted(e["event"]["event_id"] for e in api.events())
    assert len(records) == json.loads(result.stdout)["rows"]
