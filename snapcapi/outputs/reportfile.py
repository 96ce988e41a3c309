"""The `--report` file: one record per input row, JSON Lines, or CSV when the path ends in `.csv`.

The records come encoded (`run.records`, by the worker processes), in input order; this module only puts
them in the file, atomically: the file appears, complete, when the writer is closed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from snapcapi.errors import OutputError
from snapcapi.model import RowOutcome
from snapcapi.outputs.atomic import AtomicFile
from snapcapi.run.records import REPORT_COLUMNS, REPORT_ERRORS, ReportEncoder


class ReportWriter:
    """Writes one record per input row: JSON Lines, or CSV when the path ends in `.csv`.

    The file appears, complete, when the writer is closed (written under a temporary name, then renamed);
    leaving its `with` block on an exception leaves `path` as it was. Raises OutputError when the file
    cannot be created or written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.format = "csv" if path.suffix.lower() == ".csv" else "jsonl"
        try:
            # A file name that is not UTF-8 holds lone surrogates: written as \udcXX escapes (valid JSON),
            # never as raw bytes nor as a crash.
            self._atomic = AtomicFile(path, errors=REPORT_ERRORS)
        except OSError as err:
            raise OutputError(f"--report {path}: cannot write there ({err.strerror or err})") from None
        self._out = self._atomic.file.buffer  # records come as bytes: the text layer is not used
        self._encoder: ReportEncoder | None = None
        if self.format == "csv":
            header = ",".join(REPORT_COLUMNS) + "\r\n"
            self._guarded(lambda: self._out.write(header.encode("ascii")))

    @property
    def temporary(self) -> Path | None:
        """The hidden file being written, until the writer is closed; None when writing to a stream."""
        return self._atomic.temporary

    def write_records(self, data: bytes) -> None:
        """Append encoded records (`run.records.ReportEncoder` of this writer's `format`)."""
        self._guarded(lambda: self._out.write(data))

    def write(self, outcome: RowOutcome) -> None:
        """Append the record of one row's outcome."""
        if self._encoder is None:
            self._encoder = ReportEncoder(self.format)
        self.write_records(self._encoder.outcome(outcome))

    def _guarded(self, write: Callable[[], object]) -> None:
        try:
            write()
        except OSError as err:
            self._atomic.discard()
            raise OutputError(f"--report {self.path}: cannot write ({err.strerror or err})") from None

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is not None:
            self._atomic.discard()
            return
        self._guarded(self._atomic.commit)
