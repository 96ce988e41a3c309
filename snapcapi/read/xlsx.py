"""Excel workbooks (`.xlsx`, `.xlsm`): one sheet read as `Row`s, as a CSV export of it would be.

Needs python-calamine (the `excel` extra): Rust's calamine, about 20 times as fast as openpyxl's read-only
mode on a 100,000-row workbook (CHANGELOG, README "Input"). It holds the sheet's cells in memory while the
file is read (Excel caps a sheet at 1,048,576 rows); for bigger data, export CSV.

- The first sheet, or the one `--sheet NAME` names (a number counts from 1).
- Lines above the header that are not one (a title alone in the first cell) are skipped, as in a CSV.
- Cells are written as a CSV export holds them: text as is; a whole number without `.0` (Excel keeps every
  number as a float: 14155550100.0 is the phone 14155550100); a date or date-time cell as ISO 8601 (no
  offset: read in `--timezone`); true/false.
- `line` is the sheet's row number, as Excel shows it.
- A file that is not a workbook, is damaged, or has no such sheet raises InputError naming it; a row wider
  than the header (a value in a column with no name) is an error row.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import IO, Any, Final

from snapcapi.errors import ConfigError, InputError
from snapcapi.model import Row
from snapcapi.read.csv import is_preamble
from snapcapi.read.sniff import SAMPLE_ROWS

EXTENSIONS: Final = (".xlsx", ".xlsm")
_MAX_PREAMBLE: Final = 10


def is_workbook_name(path: str) -> bool:
    """True when the file name says Excel workbook."""
    return path.lower().endswith(EXTENSIONS)


@dataclass(frozen=True, slots=True)
class Workbook:
    """An opened sheet: its columns, the lines above its header, its first rows, and all its rows (once)."""

    columns: list[str]
    preamble: list[str]
    sample: list[Row]
    rows: Iterator[Row]


def open_workbook(name: str, source: str | IO[bytes], sheet: str | None = None) -> Workbook:
    """Open the workbook at `source` (a path, or a binary file) and read its header row.

    Raises InputError (not a workbook, damaged, no such sheet, no header) and ConfigError (the excel extra
    is not installed).
    """
    try:
        import python_calamine as calamine
    except ImportError:
        raise ConfigError(
            f"{name}: reading Excel workbooks needs the excel extra: pip install 'snapcapi[excel]'"
        ) from None
    try:
        if isinstance(source, str):
            book = calamine.CalamineWorkbook.from_path(source)
        else:
            book = calamine.CalamineWorkbook.from_filelike(source)
        chosen = _sheet(name, book, sheet)
        first_row = chosen.start[0] + 1 if chosen.start else 1
        cells = iter(chosen.iter_rows())
        preamble: list[str] = []
        header: list[str] | None = None
        line = first_row - 1
        for values in cells:
            line += 1
            texts = [_text(v) for v in values]
            if not any(t.strip() for t in texts):
                continue
            if len(preamble) < _MAX_PREAMBLE and is_preamble(texts):
                preamble.append(texts[0])
                continue
            header = texts
            break
    except (InputError, ConfigError):
        raise
    except Exception as error:  # calamine's errors (zip, XML, password...) share no base class
        raise InputError(f"{name}: not a readable Excel workbook ({_describe(error)})") from None
    if header is None:
        raise InputError(f"{name}: empty sheet, no header row")
    columns = _columns(name, header, line)
    rows = _rows(name, cells, columns, line)
    sample = []
    for row in rows:
        sample.append(row)
        if len(sample) >= SAMPLE_ROWS:
            break
    return Workbook(columns, preamble, [r for r in sample if r.error is None], _chain(sample, rows))


def _sheet(name: str, book: Any, sheet: str | None) -> Any:
    names: list[str] = list(book.sheet_names)
    if sheet is None:
        if not names:
            raise InputError(f"{name}: the workbook has no sheet")
        return book.get_sheet_by_index(0)
    if sheet in names:
        return book.get_sheet_by_name(sheet)
    if sheet.isdigit() and 1 <= int(sheet) <= len(names):
        return book.get_sheet_by_index(int(sheet) - 1)
    raise InputError(f"{name}: no sheet {sheet!r}; its sheets are {', '.join(repr(n) for n in names)}")


def _columns(name: str, header: list[str], line: int) -> list[str]:
    while header and not header[-1].strip():  # Excel's used range often runs past the last column
        header.pop()
    empty = [str(i) for i, column in enumerate(header, 1) if not column.strip()]
    if empty:
        raise InputError(f"{name}: line {line}: header column(s) {', '.join(empty)} have no name")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputError(f"{name}: line {line}: the header repeats column names: {', '.join(repeated)}")
    return header


def _rows(name: str, cells: Iterator[Sequence[Any]], columns: list[str], line: int) -> Iterator[Row]:
    width = len(columns)
    try:
        for values in cells:
            line += 1
            texts = [_text(v) for v in values]
            if len(texts) > width:
                extra = [i for i, t in enumerate(texts[width:], width + 1) if t.strip()]
                if extra:
                    message = f"line {line}: a value in column {extra[0]}, which the header does not name"
                    yield Row(name, line, {}, message)
                    continue
                texts = texts[:width]
            if not any(t.strip() for t in texts):
                continue  # an empty row, as a blank line in a CSV
            texts += [""] * (width - len(texts))
            yield Row(name, line, dict(zip(columns, texts, strict=True)))
    except Exception as error:
        raise InputError(
            f"{name}: not a readable Excel workbook after line {line} ({_describe(error)})"
        ) from None


def _chain(first: list[Row], rest: Iterator[Row]) -> Iterator[Row]:
    yield from first
    yield from rest


def _text(value: Any) -> str:
    """A cell as a CSV export of the sheet holds it."""
    if type(value) is str:
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return "" if value is None else str(value)


def _describe(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:200]
