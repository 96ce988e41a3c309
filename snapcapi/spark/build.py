"""Building a partition's events: Arrow batches of input rows in, Arrow batches of built rows out.

`BuildTask` is what `DataFrame.mapInArrow` runs on each partition; it needs pyarrow, not pyspark, so it can
also be called on batches directly (a test, another engine). Each value is written as CSV text
(`read.typed`), then the command line's own chunk builder maps, checks, normalizes, hashes and encodes the
rows, fast paths and all: a row gives the event, byte for byte, that the same row gives in a CSV file.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from snapcapi.events.build import BuildContext
from snapcapi.events.mapping import Mapper, MappingConfig
from snapcapi.events.prepare import Reading
from snapcapi.model import Problem, Row
from snapcapi.read.typed import texts
from snapcapi.run.chunks import Chunk, ChunkBuilder
from snapcapi.spark.columns import ROW, built_schema

SOURCE = "<dataframe>"  # the `file` of a DataFrame's rows, in messages


def bucket_of(asset_id: str, event_id: str, buckets: int) -> int:
    """Return the bucket (0 to buckets-1) of an event: the same on every machine, run and Python version,
    so that one send task owns every row with that asset and event id."""
    key = f"{asset_id}:{event_id}".encode("utf-8", "surrogatepass")
    return zlib.crc32(key) % buckets


@dataclass(frozen=True, slots=True)
class BuildTask:
    """Builds the events of one partition (see the module docstring); picklable, holds no secret.

    `columns` are the input columns the mapping reads, `keys` the columns passed through to the outcomes;
    each batch holds them and `columns.ROW`. `ctx` is made once on the driver (its `now` included), so
    that a retried task builds exactly what the first attempt built.
    """

    ctx: BuildContext
    mapping: MappingConfig
    explicit: Mapping[str, str]  # field -> column, besides the mapping's [columns]
    columns: tuple[str, ...]
    keys: tuple[str, ...]
    buckets: int
    bodies: bool = True  # False: validate, which sends nothing and needs no JSON
    readings: tuple[tuple[str, Reading], ...] = ()  # how text columns write numbers and dates (driver's)

    def __call__(self, batches: Iterable[Any]) -> Iterator[Any]:
        """Yield one built batch (`columns.built_schema`) per input batch, row for row."""
        mapper = Mapper(self.mapping, dict(self.explicit))
        plan = mapper.plan(self.columns)
        builder = ChunkBuilder(mapper, self.ctx, bodies=self.bodies)
        for batch in batches:
            yield self.build(batch, builder, plan)

    def build(self, batch: Any, builder: ChunkBuilder, plan: Any) -> Any:
        """Return the built batch of one input batch."""
        import pyarrow as pa

        names = self.columns
        values = [texts(batch.column(name).to_pylist()) for name in names]
        rows = [
            Row(SOURCE, i, dict(zip(names, fields, strict=True)))
            for i, fields in enumerate(zip(*values, strict=True))
        ]
        if not names:  # nothing mapped: every row is empty, and invalid
            rows = [Row(SOURCE, i, {}) for i in range(batch.num_rows)]
        built, _, _ = builder.build(Chunk(SOURCE, names, plan, rows, readings=self.readings))
        row_ids = batch.column(ROW).to_pylist()
        buckets: list[int] = []
        valid: list[bool] = []
        event_names: list[str | None] = []
        event_ids: list[str | None] = []
        assets: list[str | None] = []
        errors: list[list[str]] = []
        warnings: list[list[str]] = []
        bodies: list[bytes | None] = []
        for (_, name, event_id, asset_id, body, problems, notes, _), row_id in zip(
            built, row_ids, strict=True
        ):
            if body is not None and asset_id is not None and event_id is not None:
                ok = True
                buckets.append(bucket_of(asset_id, event_id, self.buckets))
            else:
                ok = False
                buckets.append(row_id % self.buckets)
            valid.append(ok)
            event_names.append(name)
            event_ids.append(event_id)
            assets.append(asset_id)
            errors.append(_texts(problems))
            warnings.append(_texts(notes))
            bodies.append(body if ok else None)
        schema = built_schema([(key, batch.schema.field(key).type) for key in self.keys])
        arrays = [
            batch.column(ROW),
            *(batch.column(key) for key in self.keys),
            pa.array(buckets, pa.int32()),
            pa.array(valid, pa.bool_()),
            pa.array(event_names, pa.string()),
            pa.array(event_ids, pa.string()),
            pa.array(assets, pa.string()),
            pa.array(errors, pa.list_(pa.string())),
            pa.array(warnings, pa.list_(pa.string())),
            pa.array(bodies, pa.binary()),
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _texts(problems: tuple[Problem, ...]) -> list[str]:
    return [str(problem) for problem in problems]
