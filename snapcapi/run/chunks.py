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

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from snapcapi.events.build import Assembled, BuildContext, assemble
from snapcapi.events.mapping import ColumnPlan, Mapper
from snapcapi.events.wire import encode_event, encode_json
from snapcapi.model import NOT_AN_EVENT, Problem, Row
from snapcapi.read.blocks import Block, Layout, Record
from snapcapi.read.open import Source

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


# One chunk built: a `Built` per record, in order, and the rows parsed from its block when asked for.
BuildResult = tuple[list[Built], list[Row] | None]


class ChunkBuilder:
    """Builds chunks for one run: its mapping and build context, and small caches of its own."""

    def __init__(self, mapper: Mapper, ctx: BuildContext, *, bodies: bool = True) -> None:
        """`bodies`: encode each valid event's JSON (False: an empty body, for runs that send nothing)."""
        self.mapper = mapper
        self.ctx = ctx
        self.bodies = bodies
        self._mappers: dict[tuple[tuple[str, ...], ColumnPlan], _FieldsMapper] = {}
        self._keys: dict[tuple[str, ...], tuple[str, ...]] = {}

    def build(self, chunk: Chunk) -> BuildResult:
        """Return one `Built` per record of `chunk` (a record that could not be read is one with its
        error and no body), in order, and the block's rows when `chunk.want_rows`."""
        ctx, columns = self.ctx, chunk.columns
        records: Iterable[Record]
        if chunk.block is not None:
            assert chunk.layout is not None, "a block comes with its layout"
            records = list(chunk.layout.records(chunk.block))
        elif columns is None:
            records = [(row.line, row.data, row.error) for row in chunk.rows]
        else:
            records = [(row.line, list(row.data.values()), row.error) for row in chunk.rows]
        to_values = self._values_of(chunk)
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
            built = assemble(values, ctx)
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
        return out, rows

    def _values_of(self, chunk: Chunk) -> Callable[[int, Any], dict[str, Any]]:
        """Return how to get a record's canonical values in this chunk: `Mapper.map`, or its faster form."""
        mapper, file, columns, plan = self.mapper, chunk.file, chunk.columns, chunk.plan
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


def _no_body(payload: object) -> bytes:
    return b""


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
) -> Iterator[tuple[tuple[Source, list[Row] | None], Chunk]]:
    """Read the sources' records, at most `limit` in all, into chunks of at most `size` records of one
    source and about `max_chars` characters (so that records with huge fields do not pile up).

    Yields ((source, the rows as read here, or None for a block), the chunk to build). Stops before the
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
            if plan.unused:
                unused[source.name] = plan.unused
        name, layout = source.name, source.layout
        rows: list[Row] = []
        chars = 0
        pieces = source.pieces(size, max_chars, None if limit is None else limit - read)
        try:
            for piece in pieces:
                if isinstance(piece, Block):
                    if rows:
                        yield (source, rows), Chunk(name, columns, plan, rows)
                        rows, chars = [], 0
                    read += piece.records
                    chunk = Chunk(name, columns, plan, [], piece, layout, want_rows)
                    yield (source, None), chunk
                else:
                    read += 1
                    rows.append(piece)
                    chars += _chars(piece)
                    if len(rows) >= size or chars >= max_chars:
                        yield (source, rows), Chunk(name, columns, plan, rows)
                        rows, chars = [], 0
                if stop.is_set() or (limit is not None and read >= limit):
                    break
        except Exception:
            # Rows read before a read error still get their outcomes; the error follows them.
            if rows:
                yield (source, rows), Chunk(name, columns, plan, rows)
            raise
        if rows:
            yield (source, rows), Chunk(name, columns, plan, rows)
        if stop.is_set() or (limit is not None and read >= limit):
            return


def _chars(row: Row) -> int:
    """About how many characters a row holds (nested JSON values count as a few)."""
    return sum(len(v) if isinstance(v, str) else 8 for v in row.data.values())
