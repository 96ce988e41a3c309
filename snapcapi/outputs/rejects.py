"""The rows snapcapi refused, written in the input's own format and columns plus an `error` column, so that
a user can fix them and upload that file again.

Decisions:
- Format: the path's extension (`.csv`; `.tsv`, `.tab`; `.jsonl`, `.ndjson`, `.json`), else the format of
  the first source a row is written from. A `.csv` gets the first source's delimiter when that source is a
  CSV (a `;` file stays `;`), else a comma; `.tsv` gets tabs.
- JSON Lines: each row's object as read, plus the error key. Nested values are kept.
- CSV: lossless across inputs with different columns. The header is the union of the columns of every
  source a row was written from, in first-seen order, plus the error column; a row has its own values and
  empty cells for the columns its source lacks. Since the header is only known at the end, rows are kept in
  an anonymous temporary file (JSON Lines, 0600, in the destination's directory, gone when closed) and the
  CSV is written at `close()`. A JSON value in a CSV cell is written as JSON text (`true`, `{"a": 1}`).
- The error column is `error`, or `snapcapi_error` when the input has a column of that name (then
  `snapcapi_error_2`, ...): a user's own column is never overwritten. It is the last column, which mapping
  ignores when the file is uploaded again.
- A CSV or TSV starts with a UTF-8 BOM when the first source a row is written from did: Excel needs it to
  show accents, and a user who opens the rejects file in Excel had opened the input there too.
- A row that could not be read at all has no values: its cells are empty and its error names the file and
  line, so that the user can fix it in the original file.
- The file is written atomically (`atomic.AtomicFile`), mode 0600: until `close()` an earlier file at the
  path is untouched, and a crash never leaves half a file. A run that refused nothing still replaces it,
  with an empty file, so that a stale file from an earlier run is never mistaken for this run's.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Container
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

from snapcapi.errors import ConfigError, OutputError
from snapcapi.model import REJECTS_ERROR_COLUMN, Row
from snapcapi.outputs.atomic import AtomicFile
from snapcapi.read.open import EXTENSIONS, Source

ERROR_COLUMN: Final = REJECTS_ERROR_COLUMN
_BOM: Final = "\ufeff"


class RejectsWriter:
    """Collects refused rows into one file at `path`; use it in a `with` block, or call `close()`.

    Leaving the `with` block through an exception discards the file (an earlier one at `path` stays).
    """

    def __init__(self, path: Path | str) -> None:
        """Create the temporary file now, so an unwritable path stops the run before anything is sent.

        Raises ConfigError when the file cannot be created there.
        """
        self.path = Path(path)
        self.rows = 0  # rows written so far
        self._format: str | None = EXTENSIONS.get(self.path.suffix.lower())
        self._delimiter = "\t" if self._format == "tsv" else ","
        self._bom = False
        self._decided = False
        try:
            # surrogateescape: a value that kept undecodable bytes is written back as those bytes.
            self._out = AtomicFile(self.path, newline="", errors="surrogateescape")
        except OSError as error:
            raise ConfigError(
                f"cannot write the rejects file {self.path}: {error.strerror or error}"
            ) from None
        self._spill: IO[str] | None = None
        self._columns: dict[str, None] = {}  # an ordered set
        self._sources: set[Source] = set()  # the sources whose columns are in _columns

    @property
    def temporary(self) -> Path | None:
        """The hidden file being written, until `close()` moves it into place; None for a stream."""
        return self._out.temporary

    def write(self, source: Source, row: Row, error: str) -> None:
        """Add one refused row, read from `source`, with the reason `error`.

        Raises OutputError when the file cannot be written (a full disk).
        """
        if not self._decided:
            self._decide(source)
        text = _error_text(row, error)
        try:
            if self._format == "jsonl":
                record = dict(row.data)
                record[_error_key(record)] = text
                self._out.file.write(json.dumps(record, ensure_ascii=False) + "\n")
            else:
                self._add_columns(source, row)
                self._spill_file().write(json.dumps([row.data, text], ensure_ascii=False) + "\n")
        except OSError as error:
            raise OutputError(
                f"cannot write the rejects file {self.path}: {error.strerror or error}"
            ) from None
        self.rows += 1

    def close(self) -> None:
        """Write out what is pending and move the file into place. Calling it again does nothing.

        Raises OutputError when the file cannot be written or moved; `path` is then left as it was.
        """
        try:
            if self._spill is not None:
                self._write_csv(self._spill)
            self._out.commit()
        except OSError as error:
            self.discard()
            raise OutputError(
                f"cannot write the rejects file {self.path}: {error.strerror or error}"
            ) from None
        finally:
            self._close_spill()

    def discard(self) -> None:
        """Drop everything written; an earlier file at `path` is left as it was."""
        self._close_spill()
        self._out.discard()

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.discard()

    def _decide(self, source: Source) -> None:
        self._decided = True
        self._bom = source.bom  # Excel shows a CSV's accents right only with it
        if self._format is None:
            self._format = "jsonl" if source.format == "jsonl" else "csv"
            if source.delimiter is not None:
                self._delimiter = source.delimiter
        elif self._format == "csv" and source.format == "csv" and source.delimiter is not None:
            self._delimiter = source.delimiter

    def _add_columns(self, source: Source, row: Row) -> None:
        if source.columns is not None:
            if source not in self._sources:
                self._sources.add(source)
                self._columns.update(dict.fromkeys(source.columns))
        else:
            self._columns.update(dict.fromkeys(row.data))

    def _spill_file(self) -> IO[str]:
        if self._spill is None:
            # Anonymous (unlinked at once) and 0600: the rows hold personal data.
            # Next to the destination's temporary file: on the same disk, not in a shared /tmp.
            beside = self._out.temporary
            self._spill = tempfile.TemporaryFile(  # noqa: SIM115  (closed by close/discard)
                "w+",
                encoding="utf-8",
                newline="",
                errors="surrogateescape",
                dir=None if beside is None else beside.parent,
            )
        return self._spill

    def _write_csv(self, spill: IO[str]) -> None:
        columns = list(self._columns)
        # \r\n, as RFC 4180 says: with "\n" the csv module would leave a field holding a lone \r unquoted.
        if self._bom:
            self._out.file.write(_BOM)
        writer = csv.writer(self._out.file, delimiter=self._delimiter, lineterminator="\r\n")
        writer.writerow([*columns, _error_key(self._columns)])
        spill.seek(0)
        for line in spill:
            data, text = json.loads(line)
            writer.writerow([*(_cell(data.get(c)) for c in columns), text])

    def _close_spill(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None


def _error_key(names: Container[str]) -> str:
    """Return `error`, or the first of `snapcapi_error`, `snapcapi_error_2`, ... that is not in `names`."""
    if ERROR_COLUMN not in names:
        return ERROR_COLUMN
    key, n = f"snapcapi_{ERROR_COLUMN}", 1
    while key in names:
        n += 1
        key = f"snapcapi_{ERROR_COLUMN}_{n}"
    return key


def _error_text(row: Row, error: str) -> str:
    if row.error is None:
        return error
    # The row has no values to fix here: point at the record in the original file.
    located = row.error if row.error.startswith("line ") else f"line {row.line}: {row.error}"
    if row.error in error:
        return f"{row.file}: {located}"
    return f"{row.file}: {located}; {error}"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
