"""Parquet input (`snapcapi upload part-*.parquet`): a file read one row group at a time, as `Row`s.

Needs pyarrow (the `parquet` or `spark` extra). The columns are the file's top-level columns; each value is
written as the text a CSV export of the file would hold (`typed.as_text`), so the rows go through the very
mapping and checks of a CSV row, and give the same events. A row's `line` is its 1-based number in the
file (Parquet has no lines). Memory holds one batch of a row group at a time, whatever the file's size.

A file that is not Parquet, is damaged, or cannot be opened raises InputError naming it; a row group
found damaged part-way raises InputError after the rows before it (as a truncated gzip does).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, Final

from snapcapi.errors import InputError
from snapcapi.model import Row
from snapcapi.read.sniff import SAMPLE_ROWS
from snapcapi.read.typed import texts

MAGIC: Final = b"PAR1"
EXTENSIONS: Final = (".parquet", ".parq", ".pq")
BATCH_ROWS: Final = 16_384  # rows converted at once: a few MB of Python values


def is_parquet_name(path: str) -> bool:
    """True when the file name says Parquet."""
    return path.lower().endswith(EXTENSIONS)


@dataclass(frozen=True, slots=True)
class ParquetInput:
    """An opened Parquet file: its columns, its rows (read lazily, once) and how to close it."""

    columns: list[str]
    rows: Iterator[Row]
    close: Callable[[], None]
    sample: list[Row]  # the first rows, read again: to decide how text columns write numbers and dates


def open_parquet(path: str, *, batch_rows: int = BATCH_ROWS) -> ParquetInput:
    """Open a Parquet file and read its schema now; its rows are read as they are needed.

    Raises InputError when pyarrow is missing, or the file is missing, not Parquet or damaged.
    """
    if path == "-":
        raise InputError("Parquet cannot be read from standard input (its index is at the end); name a file")
    pq = _pyarrow_parquet()
    try:
        file = pq.ParquetFile(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(
            f"{path}: is a directory; name its files (for example {path.rstrip('/')}/part-*.parquet)"
        ) from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"{path}: not a readable Parquet file ({_short(err)})") from None
    columns = list(file.schema_arrow.names)
    if len(set(columns)) != len(columns):
        raise InputError(f"{path}: two columns have the same name; rename one")
    first = _rows(file, path, SAMPLE_ROWS)
    try:
        sample = list(itertools.islice(first, SAMPLE_ROWS))
    finally:
        first.close()
    return ParquetInput(columns, _rows(file, path, batch_rows), file.close, sample)


def _rows(file: Any, name: str, batch_rows: int) -> Generator[Row, None, None]:
    line = 0
    batches = file.iter_batches(batch_size=batch_rows, use_threads=False)
    while True:
        try:
            batch = next(batches, None)
        except (OSError, ValueError) as err:
            raise InputError(f"{name}: damaged after row {line} ({_short(err)})") from None
        if batch is None:
            return
        columns = [texts(column.to_pylist()) for column in batch.columns]
        names = batch.schema.names
        for values in zip(*columns, strict=True):
            line += 1
            yield Row(name, line, dict(zip(names, values, strict=True)))


def _short(err: BaseException) -> str:
    return str(err).splitlines()[0][:200] if str(err) else type(err).__name__


def _pyarrow_parquet() -> Any:
    try:
        import pyarrow.parquet as pq  # an optional extra: only Parquet input needs it
    except ImportError:
        raise InputError(
            "reading Parquet needs pyarrow: pip install 'snapcapi[parquet]' (or 'snapcapi[spark]')"
        ) from None
    return pq
