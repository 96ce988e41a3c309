"""The `--report` and `--rejects` records of rows, encoded as the bytes written to those files.

Rows are encoded where they are built (`chunks.ChunkBuilder`, in the worker processes), for the outcome
they will most likely end in: a valid row `valid` (validate) or `sent` (upload), an invalid one `invalid`.
The main process writes a chunk's records as they come, in input order, and encodes again, with the same
functions, only the rows whose outcome turned out otherwise (a duplicate, a row Snap refused, a row not
sent). No per-row object is made in the main process only to be formatted.

Formats (the bytes are those `json.dumps(record, ensure_ascii=False)` and `csv.writer` give):
- report, JSON Lines: {"file", "line", "status", "event_name", "event_id", "asset_id", "errors",
  "warnings"}, each problem as "field: message"; a file name that is not UTF-8 is written with \\udcXX
  escapes. Report, CSV: the same columns, problems joined by "; ", lines ending in \\r\\n.
- rejects, JSON Lines: the row's object as read (a CSV row by its column names) plus the error key.
  Rejects, CSV: the row's cells in its own file's columns plus the error, lines ending in \\r\\n; a JSON
  Lines row bound for a CSV rejects file is kept as `[object, error]` JSON until the file's columns are
  known (`outputs.rejects` writes the CSV at the end).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Container, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, Final, Protocol

from snapcapi.model import REJECTS_ERROR_COLUMN, Problem, Row, RowOutcome, Status
from snapcapi.read.open import Source

ERROR_COLUMN: Final = REJECTS_ERROR_COLUMN
REPORT_COLUMNS: Final = ("file", "line", "status", "event_name", "event_id", "asset_id", "errors", "warnings")
REPORT_ERRORS: Final = "backslashreplace"  # a report holds no input value: names escaped, never raw
REJECTS_ERRORS: Final = "surrogateescape"  # a value that kept undecodable bytes is written back as those


@dataclass(frozen=True, slots=True)
class RejectsFormat:
    """How a rejects file is written: JSON Lines, or CSV with `delimiter`."""

    jsonl: bool
    delimiter: str = ","


@dataclass(frozen=True, slots=True)
class Encoding:
    """What a chunk's builder encodes for each row: report records (`report`: "jsonl" or "csv"), with
    `status` the status of a valid row, and rejects lines of invalid rows (`rejects`)."""

    report: str | None = None
    status: Status = Status.VALID
    rejects: RejectsFormat | None = None


class ReportOutput(Protocol):
    """Where a run writes its report records (`outputs.report.ReportWriter`)."""

    @property
    def format(self) -> str:
        """ "jsonl" or "csv"."""
        ...

    def write_records(self, data: bytes) -> None:
        """Append encoded records."""
        ...


class RejectsOutput(Protocol):
    """Where a run writes its refused rows (`outputs.rejects.RejectsWriter`)."""

    def format_for(self, source: Source) -> RejectsFormat:
        """The file's format, decided by the first source it is asked for (or written from)."""
        ...

    def write_records(self, source: Source, data: bytes, rows: int) -> None:
        """Append `rows` encoded rows of `source`."""
        ...


def _json_list(problems: tuple[Problem, ...]) -> str:
    if not problems:
        return "[]"
    return "[" + ", ".join(encode_basestring(f"{p.field}: {p.message}") for p in problems) + "]"


def _json_text(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


class ReportEncoder:
    """Encodes report records of one format; keeps the encoded forms of values that repeat."""

    def __init__(self, fmt: str) -> None:
        self.csv = fmt == "csv"
        self._files: dict[str, str] = {}
        self._problems: dict[tuple[Problem, ...], str] = {}
        self._lines: list[str] = []
        self._writer = csv.writer(_Appender(self._lines))

    def encode(
        self,
        file: str,
        line: int,
        status: str,
        event_name: str | None,
        event_id: str | None,
        asset_id: str | None,
        errors: tuple[Problem, ...],
        warnings: tuple[Problem, ...],
    ) -> bytes:
        """Return one row's record (an empty `asset_id`, validated without one, is written as none)."""
        asset_id = asset_id or None
        if self.csv:
            self._writer.writerow(
                (file, line, status, event_name, event_id, asset_id, _joined(errors), _joined(warnings))
            )
            text = self._lines.pop()
        else:
            head = self._files.get(file)
            if head is None:
                head = self._files[file] = '{"file": ' + encode_basestring(file) + ', "line": '
            problems = self._problems
            errs = problems.get(errors)
            if errs is None:
                errs = problems[errors] = _json_list(errors)
            warns = problems.get(warnings)
            if warns is None:
                warns = problems[warnings] = _json_list(warnings)
                if len(problems) > 4096:
                    problems.clear()
            text = (
                f'{head}{line}, "status": "{status}", "event_name": {_json_text(event_name)},'
                f' "event_id": {_json_text(event_id)}, "asset_id": {_json_text(asset_id)},'
                f' "errors": {errs}, "warnings": {warns}}}\n'
            )
        return text.encode("utf-8", REPORT_ERRORS)

    def outcome(self, outcome: RowOutcome) -> bytes:
        """Return the record of `outcome`."""
        return self.encode(
            outcome.file,
            outcome.line,
            outcome.status.value,
            outcome.event_name,
            outcome.event_id,
            outcome.asset_id,
            outcome.errors,
            outcome.warnings,
        )


def _joined(problems: tuple[Problem, ...]) -> str:
    return "; ".join(f"{p.field}: {p.message}" for p in problems)


class _Appender:
    """A file for `csv.writer` whose every write is one row's line, kept in `lines`."""

    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


class RejectsEncoder:
    """Encodes refused rows for a rejects file of `fmt`."""

    def __init__(self, fmt: RejectsFormat) -> None:
        self.format = fmt
        self._lines: list[str] = []
        # \r\n, as RFC 4180 says: with "\n" the csv module would leave a field holding a lone \r unquoted.
        self._writer = csv.writer(_Appender(self._lines), delimiter=fmt.delimiter, lineterminator="\r\n")

    def encode(
        self,
        file: str,
        line: int,
        columns: Sequence[str] | None,
        data: Any,
        read_error: str | None,
        error: str,
    ) -> bytes:
        """Return one refused row's line: `data` is its JSON object (`columns` None) or its CSV cells in
        `columns` order (empty when `read_error`, why it could not be read); `error` why it was refused."""
        text = error_text(file, line, read_error, error)
        if self.format.jsonl:
            record = dict(data) if columns is None else dict(zip(columns, data, strict=False))
            record[error_key(record)] = text
            encoded = json.dumps(record, ensure_ascii=False) + "\n"
        elif columns is None:
            encoded = json.dumps([data, text], ensure_ascii=False) + "\n"
        else:
            cells = list(data) if read_error is None else [""] * len(columns)
            cells.append(text)
            self._writer.writerow(cells)
            encoded = self._lines.pop()
        return encoded.encode("utf-8", REJECTS_ERRORS)

    def row(self, row: Row, columns: Sequence[str] | None, error: str) -> bytes:
        """Return the line of `row`, read with `columns` (None: a JSON Lines row), refused for `error`."""
        data: Any = row.data
        if columns is not None:
            data = [] if row.error is not None else [row.data.get(c, "") for c in columns]
        return self.encode(row.file, row.line, columns, data, row.error, error)


def reasons(errors: tuple[Problem, ...]) -> str:
    """A refused row's error cell: its problems, joined."""
    return "; ".join(str(p) for p in errors)


def error_key(names: Container[str]) -> str:
    """Return `error`, or the first of `snapcapi_error`, `snapcapi_error_2`, ... that is not in `names`."""
    if ERROR_COLUMN not in names:
        return ERROR_COLUMN
    key, n = f"snapcapi_{ERROR_COLUMN}", 1
    while key in names:
        n += 1
        key = f"snapcapi_{ERROR_COLUMN}_{n}"
    return key


def error_text(file: str, line: int, read_error: str | None, error: str) -> str:
    """The error cell of a refused row: why, and for a record that could not be read, where it is."""
    if read_error is None:
        return error
    # The row has no values to fix here: point at the record in the original file.
    located = read_error if read_error.startswith("line ") else f"line {line}: {read_error}"
    if read_error in error:
        return f"{file}: {located}"
    return f"{file}: {located}; {error}"
