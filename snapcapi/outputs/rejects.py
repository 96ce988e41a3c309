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
  an anonymous temporary file (0600, in the destination's directory, gone when closed) and the CSV is
  written at `close()`: copied as it is when every row came from files of the same columns (the usual
  case), else put in the union's columns. A JSON value in a CSV cell is written as JSON text (`true`,
  `{"a": 1}`).
- Rows come encoded (`run.records.RejectsEncoder`, in the worker processes), in input order; the format
  is decided before the run by its first source (`format_for`), or by the first row `write` is given.
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
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from snapcapi.errors import ConfigError, OutputError
from snapcapi.model import Row
from snapcapi.outputs.atomic import AtomicFile
from snapcapi.read.open import EXTENSIONS, Source
from snapcapi.run.records import ERROR_COLUMN, REJECTS_ERRORS, RejectsEncoder, RejectsFormat, error_key

__all__ = ["ERROR_COLUMN", "RejectsWriter"]
_COPY = 1 << 20  # bytes copied at a time
_BOM = "\ufeff"


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
        self._extension: str | None = EXTENSIONS.get(self.path.suffix.lower())
        self._format: RejectsFormat | None = None
        self._bom = False
        self._encoder: RejectsEncoder | None = None
        try:
            self._out = AtomicFile(self.path, newline="", errors=REJECTS_ERRORS)
        except OSError as error:
            raise ConfigError(
                f"cannot write the rejects file {self.path}: {error.strerror or error}"
            ) from None
        self._spill: IO[bytes] | None = None
        # The CSV rows kept for close(): (the source they came from, their bytes in the spill), in order.
        self._segments: list[tuple[Source, int]] = []

    @property
    def temporary(self) -> Path | None:
        """The hidden file being written, until `close()` moves it into place; None for a stream."""
        return self._out.temporary

    def format_for(self, source: Source) -> RejectsFormat:
        """The file's format: decided by the path's extension and the first source asked about (or
        written from); the same for every source after."""
        if self._format is None:
            fmt = self._extension
            delimiter = "\t" if fmt == "tsv" else ","
            if fmt is None:
                fmt = "jsonl" if source.format == "jsonl" else "csv"
                delimiter = source.delimiter or delimiter
            elif fmt == "csv" and source.format == "csv" and source.delimiter is not None:
                delimiter = source.delimiter
            self._format = RejectsFormat(fmt == "jsonl", delimiter)
            self._bom = source.bom  # Excel shows a CSV's accents right only with it
        return self._format

    def write(self, source: Source, row: Row, error: str) -> None:
        """Add one refused row, read from `source`, with the reason `error`.

        Raises OutputError when the file cannot be written (a full disk).
        """
        if self._encoder is None:
            self._encoder = RejectsEncoder(self.format_for(source))
        self.write_records(source, self._encoder.row(row, source.columns, error), 1)

    def write_records(self, source: Source, data: bytes, rows: int) -> None:
        """Add `rows` refused rows of `source`, encoded (`run.records.RejectsEncoder` of `format_for`).

        Raises OutputError when the file cannot be written (a full disk).
        """
        fmt = self.format_for(source)
        try:
            if fmt.jsonl:
                self._out.file.buffer.write(data)
            else:
                self._spill_file().write(data)
                segments = self._segments
                if segments and segments[-1][0] is source:
                    segments[-1] = (source, segments[-1][1] + len(data))
                else:
                    segments.append((source, len(data)))
        except OSError as error:
            raise OutputError(
                f"cannot write the rejects file {self.path}: {error.strerror or error}"
            ) from None
        self.rows += rows

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

    def _spill_file(self) -> IO[bytes]:
        if self._spill is None:
            # Anonymous (unlinked at once) and 0600: the rows hold personal data.
            # Next to the destination's temporary file: on the same disk, not in a shared /tmp.
            beside = self._out.temporary
            self._spill = tempfile.TemporaryFile(  # noqa: SIM115  (closed by close/discard)
                "w+b", dir=None if beside is None else beside.parent
            )
        return self._spill

    def _write_csv(self, spill: IO[bytes]) -> None:
        assert self._format is not None, "rows were written"
        spill.seek(0)
        columns: dict[str, None] = {}  # an ordered set: the union, in first-seen order
        for source, size in self._segments:
            if source.columns is not None:
                columns.update(dict.fromkeys(source.columns))
            else:
                for line in _lines(spill, size):
                    columns.update(dict.fromkeys(json.loads(line)[0]))
        names = list(columns)
        out = self._out.file
        if self._bom:
            out.write(_BOM)
        # \r\n, as RFC 4180 says: with "\n" the csv module would leave a field holding a lone \r unquoted.
        writer = csv.writer(out, delimiter=self._format.delimiter, lineterminator="\r\n")
        writer.writerow([*names, error_key(columns)])
        spill.seek(0)
        if all(source.columns == names for source, _ in self._segments):
            out.flush()  # every row has the header's columns: its line is written as it is
            while data := spill.read(_COPY):
                out.buffer.write(data)
            return
        for source, size in self._segments:
            lines = _lines(spill, size)
            if source.columns is None:
                for line in lines:
                    data, text = json.loads(line)
                    writer.writerow([*(_cell(data.get(c)) for c in names), text])
                continue
            own = source.columns
            texts = (line.decode("utf-8", REJECTS_ERRORS) for line in lines)
            for cells in csv.reader(texts, delimiter=self._format.delimiter):
                values = dict(zip(own, cells, strict=False))
                writer.writerow([*(values.get(c, "") for c in names), cells[-1]])

    def _close_spill(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None


def _lines(spill: IO[bytes], size: int) -> Iterator[bytes]:
    """The lines of the next `size` bytes of `spill`."""
    while size > 0:
        line = spill.readline()
        if not line:
            return
        size -= len(line)
        yield line


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
