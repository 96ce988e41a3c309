"""Building a chunk of rows: parsing, mapping, Snap's checks, normalizing, hashing and encoding.

This is the work `parallel` hands to worker processes when there are several, and the work the main
process does itself otherwise: the same code either way. A `Chunk` goes in as a `readers.Block` of the
file's text (or, for records the main process had to parse itself, as `Row`s), and one `Built` tuple per
record comes out, in order:

    (line, event_name, event_id, asset_id, body, errors, warnings, user_keys)

`body` is the valid event's JSON as it is sent (`wire.encode_json` of `events.build`'s payload), or b""
when the run sends nothing (validate has no use for it); None for an invalid row, whose `errors` say why
(a record that could not be read has the one error `Problem("row", ...)`); `asset_id` is None then too.
A row that is not an event (`model.NOT_AN_EVENT`) has no body and no errors, and its reason as its one
warning.
`user_keys` are the row's `user_data` keys and marks for the data-quality counts (`Assembled.user_keys`),
the same tuple object for rows that have the same keys, so that pickling a chunk's results stores each
distinct tuple once."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from snapcapi.events.build import Assembled, BuildContext, assemble
from snapcapi.events.mapping import ColumnPlan, Mapper
from snapcapi.events.prepare import Reading, apply_readings, prepared_rows
from snapcapi.events.wire import encode_event, encode_json
from snapcapi.model import NOT_AN_EVENT, Problem, Row, Status
from snapcapi.read.blocks import Block, Layout, Record
from snapcapi.read.open import Source
from snapcapi.read.presets.base import first_filled, is_totals_label
from snapcapi.run.records import Encoding, RejectsEncoder, ReportEncoder, reasons

_FieldsMapper = Callable[[Sequence[str]], dict[str, Any]]
Built = tuple[
    int,
    str | None,
    str | None,
    str | None,
    bytes | None,
    tuple[Problem, ...],
    tuple[Problem, ...],
    tuple[str, ...],
]


@dataclass(frozen=True, slots=True)
class Chunk:
    """Records of one file to build: a `Block` of its text, to parse by `layout`, or rows read already.

    `columns` and `plan` (a CSV or TSV header, and which column feeds which field) are None for JSON
    Lines. `want_rows`: hand back the block's parsed rows too (sinks such as the rejects file need them).
    """

    file: str
    columns: tuple[str, ...] | None
    plan: ColumnPlan | None
    rows: list[Row]
    block: Block | None = None
    layout: Layout | None = None
    want_rows: bool = False
    # Number and date fields to read by their column's reading (`events.prepare`), for a file that needs it.
    readings: tuple[tuple[str, Reading], ...] = ()
    # The rows are field values already (a recognized export's, `events.prepare.prepared_rows`).
    prepared: bool = False


# A chunk's rows encoded for the outputs (`records`): each row's report record, and the rejects line of
# each invalid row by its place in the chunk (in order).
Encoded = tuple[list[bytes] | None, dict[int, bytes]]
# One chunk built: a `Built` per record, in order, the rows parsed from its block when asked for, and the
# rows encoded for the outputs when the builder has an `Encoding`.
BuildResult = tuple[list[Built], list[Row] | None, Encoded | None]


class ChunkBuilder:
    """Builds chunks for one run: its mapping and build context, and small caches of its own."""

    def __init__(
        self, mapper: Mapper, ctx: BuildContext, *, bodies: bool = True, encoding: Encoding | None = None
    ) -> None:
        """`bodies`: encode each valid event's JSON (False: an empty body, for runs that send nothing).
        `encoding`: encode each row's report record and rejects line too."""
        self.mapper = mapper
        self.ctx = ctx
        self.bodies = bodies
        self.encoding = encoding
        self._report = None if encoding is None or encoding.report is None else ReportEncoder(encoding.report)
        self._rejects = (
            None if encoding is None or encoding.rejects is None else RejectsEncoder(encoding.rejects)
        )
        self._mappers: dict[tuple[tuple[str, ...], ColumnPlan], _FieldsMapper] = {}
        self._keys: dict[tuple[str, ...], tuple[str, ...]] = {}

    def build(self, chunk: Chunk) -> BuildResult:
        """Return one `Built` per record of `chunk` (a record that could not be read is one with its
        error and no body), in order, and the block's rows when `chunk.want_rows`."""
        ctx, columns = self.ctx, chunk.columns
        records: list[Record]
        if chunk.block is not None:
            assert chunk.layout is not None, "a block comes with its layout"
            records = list(chunk.layout.records(chunk.block))
        elif columns is None:
            records = [(row.line, row.data, row.error) for row in chunk.rows]
        else:
            records = [(row.line, list(row.data.values()), row.error) for row in chunk.rows]
        to_values = self._values_of(chunk)
        readings = chunk.readings
        keys = self._keys
        encode = (encode_event if ctx.fast else encode_json) if self.bodies else _no_body
        out: list[Built] = []
        for line, data, error in records:
            if error is not None:
                out.append((line, None, None, None, None, (Problem("row", error),), (), ()))
                continue
            values = to_values(line, data)
            if NOT_AN_EVENT in values:
                skip = (Problem("row", str(values[NOT_AN_EVENT])),)
                out.append((line, None, None, None, None, (), skip, ()))
                continue
            if readings:
                apply_readings(values, readings)
            built = assemble(values, ctx)
            if not isinstance(built, Assembled) and not built.user_keys and _totals(values, data):
                skip = (Problem("row", "totals row: no identifier and no id, not sent"),)
                out.append((line, None, None, None, None, (), skip, ()))
                continue
            if isinstance(built, Assembled):
                payload = built.payload
                user = built.user_keys
                out.append(
                    (
                        line,
                        payload["event_name"],
                        built.event_id,
                        built.asset_id,
                        encode(payload),
                        (),
                        built.warnings,
                        keys.setdefault(user, user),
                    )
                )
            else:
                user = built.user_keys
                out.append(
                    (
                        line,
                        built.event_name,
                        built.event_id,
                        None,
                        None,
                        built.errors,
                        built.warnings,
                        keys.setdefault(user, user),
                    )
                )
        rows = None
        if chunk.block is not None and chunk.want_rows:
            assert chunk.layout is not None
            rows = chunk.layout.rows_of(records)
        encoded = None if self.encoding is None else self._encode(chunk, records, out)
        return out, rows, encoded

    def _encode(self, chunk: Chunk, records: Sequence[Record], out: list[Built]) -> Encoded:
        """Each row's report record, for the outcome it ends in unless the main process learns otherwise,
        and each invalid row's rejects line."""
        assert self.encoding is not None
        file, columns, valid = chunk.file, chunk.columns, self.encoding.status.value
        report: list[bytes] | None = None
        if self._report is not None:
            encode = self._report.encode
            report = [
                encode(
                    file,
                    line,
                    valid if body is not None else _INVALID if errors else _SKIPPED,
                    name,
                    event_id,
                    asset_id,
                    errors,
                    warnings,
                )
                for line, name, event_id, asset_id, body, errors, warnings, _ in out
            ]
        rejects: dict[int, bytes] = {}
        # A recognized export's rows are prepared values here: the main process has the rows as read.
        if self._rejects is not None and not chunk.prepared:
            refused = self._rejects.encode
            for index, (built, (line, data, error)) in enumerate(zip(out, records, strict=True)):
                if built[4] is None and built[5]:
                    rejects[index] = refused(file, line, columns, data, error, reasons(built[5]))
        return report, rejects

    def _values_of(self, chunk: Chunk) -> Callable[[int, Any], dict[str, Any]]:
        """Return how to get a record's canonical values in this chunk: `Mapper.map`, or its faster form."""
        mapper, file, columns, plan = self.mapper, chunk.file, chunk.columns, chunk.plan
        if chunk.prepared:
            return lambda line, data: mapper.with_constants(data)
        if columns is None:
            return lambda line, data: mapper.map(Row(file, line, data))
        assert plan is not None
        fast = self._mappers.get((columns, plan)) if self.ctx.fast else None
        if fast is None and self.ctx.fast:
            fast = mapper.fields_mapper(columns, plan)
            if fast is not None and len(self._mappers) < 64:
                self._mappers[(columns, plan)] = fast
        if fast is not None:
            fields_mapper = fast
            return lambda line, data: fields_mapper(data)
        return lambda line, data: mapper.map(Row(file, line, dict(zip(columns, data, strict=True))), plan)


_INVALID = Status.INVALID.value
_SKIPPED = Status.SKIPPED.value


def _no_body(payload: object) -> bytes:
    return b""


# Fields a totals row has none of.
_WHO = ("email", "phone", "madid", "ip_address", "external_id", "order_id", "event_id")


def _totals(values: dict[str, Any], data: Any) -> bool:
    """True for an invalid row that is a file's totals row: no identifier nor id, and a first cell that
    says `Total` (`Summe`, `Grand total`...)."""
    if any(name in values and not is_totals_label(values[name]) for name in _WHO):
        return False
    cells = data.values() if isinstance(data, dict) else data
    return is_totals_label(first_filled(cells))


# Characters of values in one chunk at most (about): a MiB, however many rows that is (ordinary rows
# are a few hundred characters, so a chunk of them is bound by its row count instead).
CHUNK_CHARS = 1024 * 1024


def read_chunks(
    sources: Iterable[Source],
    mapper: Mapper,
    *,
    size: int,
    limit: int | None,
    stop: threading.Event,
    unused: dict[str, tuple[str, ...]],
    want_rows: bool = True,
    max_chars: int = CHUNK_CHARS,
    ctx: BuildContext | None = None,
) -> Iterator[tuple[tuple[Source, list[Row] | None, Block | None], Chunk]]:
    """Read the sources' records, at most `limit` in all, into chunks of at most `size` records of one
    source and about `max_chars` characters (so that records with huge fields do not pile up).

    Yields ((source, the rows as read here or None, the block or None), the chunk to build). Stops before the
    next piece once `stop` is set. Notes in `unused` the columns of each file that feed no field. Rows
    read before a read error are yielded before the error is raised. Raises ConfigError when a column
    the mapping names is missing.
    """
    read = 0
    for source in sources:
        plan = None
        columns = None
        if source.columns is not None:
            columns = tuple(source.columns)
            plan = mapper.plan(columns, source=source.name)
            if plan.unused and source.preset is None:  # a recognized export's columns are its preset's
                unused[source.name] = plan.unused
        name, layout = source.name, source.layout
        readings = tuple(source.readings.items())
        if source.preset is not None:
            assert ctx is not None, "reading a recognized export needs the build context"
            taken = itertools.islice(source.rows(), None if limit is None else limit - read)
            for rows_read, prepared in _prepared_chunks(source, taken, mapper, ctx, size):
                read += len(rows_read)
                chunk = Chunk(name, None, None, prepared, prepared=True)
                yield (source, rows_read, None), chunk
                if stop.is_set():
                    return
            if limit is not None and read >= limit:
                return
            continue
        rows: list[Row] = []
        chars = 0
        pieces = source.pieces(size, max_chars, None if limit is None else limit - read)
        try:
            for piece in pieces:
                if isinstance(piece, Block):
                    if rows:
                        yield (source, rows, None), Chunk(name, columns, plan, rows, readings=readings)
                        rows, chars = [], 0
                    read += piece.records
                    chunk = Chunk(name, columns, plan, [], piece, layout, want_rows, readings)
                    yield (source, None, piece), chunk
                else:
                    read += 1
                    rows.append(piece)
                    chars += _chars(piece)
                    if len(rows) >= size or chars >= max_chars:
                        yield (source, rows, None), Chunk(name, columns, plan, rows, readings=readings)
                        rows, chars = [], 0
                if stop.is_set() or (limit is not None and read >= limit):
                    break
        except Exception:
            # Rows read before a read error still get their outcomes; the error follows them.
            if rows:
                yield (source, rows, None), Chunk(name, columns, plan, rows, readings=readings)
            raise
        if rows:
            yield (source, rows, None), Chunk(name, columns, plan, rows, readings=readings)
        if stop.is_set() or (limit is not None and read >= limit):
            return


def _prepared_chunks(
    source: Source, rows: Iterator[Row], mapper: Mapper, ctx: BuildContext, size: int
) -> Iterator[tuple[list[Row], list[Row]]]:
    """The rows of a recognized export in chunks of `size`: (the rows as read, their prepared rows)."""
    read: list[Row] = []

    def remember(rows: Iterator[Row]) -> Iterator[Row]:
        for row in rows:
            read.append(row)
            yield row

    prepared: list[Row] = []
    for row in prepared_rows(source, remember(rows), mapper, ctx):
        prepared.append(row)
        if len(prepared) >= size:
            done = len(prepared)
            yield read[:done], prepared
            del read[:done]
            prepared = []
    if prepared:
        yield read, prepared


def _chars(row: Row) -> int:
    """About how many characters a row holds (nested JSON values count as a few)."""
    return sum(len(v) if isinstance(v, str) else 8 for v in row.data.values())
