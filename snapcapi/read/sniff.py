"""Telling a CSV file's delimiter from its first bytes, and reading those bytes again as rows.

sniff_delimiter(sample) -> str                    among `,;|<tab>`, checked against the header line
sample_rows(name, sample, delimiter, columns, cut) -> list[Row]   the first rows, to decide how the
                                                                  columns write numbers and dates
"""

from __future__ import annotations

import csv
import io
from typing import Final

from snapcapi.model import Row
from snapcapi.read.csv import csv_reader, is_preamble

SAMPLE_ROWS: Final = 200  # rows read at open to decide how columns are written
_SNIFF_CHARS: Final = 8 * 1024  # csv.Sniffer's regexes are quadratic on hostile text: keep its sample small
_DELIMITERS: Final = ",;|\t"


def sniff_delimiter(sample: bytes) -> str:
    """Return the delimiter csv.Sniffer finds among `,;|<tab>`, checked against the header line."""
    text = sample[:_SNIFF_CHARS].decode("utf-8", "replace")
    end = max(text.rfind("\n"), text.rfind("\r"))
    if end > 0:
        text = text[:end]
    try:
        found = csv.Sniffer().sniff(text, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        found = ""
    lines = [line for line in text.splitlines() if not line.lower().startswith("parameters:")]
    header = lines[0] if lines else ""
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    # A one-column file defeats the sniffer, and it can pick a character the header does not even contain.
    if found not in counts or (counts[found] == 0 and counts[best] > 0):
        return best if counts[best] > 0 else ","
    return found


def sample_rows(name: str, sample: bytes, delimiter: str, columns: list[str], cut: bool) -> list[Row]:
    """The rows of the bytes read at open (at most `SAMPLE_ROWS`), parsed again: the last line is left
    out when the sample cut it. Rows that do not parse are left out too (they are error rows later)."""
    text = sample.decode("utf-8", "replace")
    if cut:
        text = text[: max(text.rfind("\n"), 0)]
    reader = csv_reader(iter(io.StringIO(text, newline="")), delimiter)
    rows: list[Row] = []
    header_seen = False
    try:
        for fields in reader:
            if not header_seen:
                header_seen = bool(fields) and not is_preamble(fields)
                continue
            if len(fields) == len(columns):
                rows.append(Row(name, reader.line_num, dict(zip(columns, fields, strict=True))))
                if len(rows) >= SAMPLE_ROWS:
                    break
    except csv.Error:
        pass
    return rows
