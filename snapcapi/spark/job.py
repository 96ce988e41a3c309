"""`snapcapi.spark.upload` and `validate`: the job's plan on the driver, and its one action.

    input -> select the mapped and key columns, and a row id
          -> BuildTask (mapInArrow): map, check, normalize, hash, encode; a bucket per asset_id:event_id
          -> left join with the delivered table (upload): DONE for what earlier jobs delivered
          -> repartition by bucket, sort within partitions by (bucket, asset_id, event_id, row)
          -> SendTask (mapInArrow): skip duplicates and deliveries, send, append to the delivered table
          -> outcomes, materialized once (a second action on a lazy plan would send again)

Requests per second are a budget for the whole job, divided among the send tasks that can run at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from snapcapi import spec
from snapcapi.errors import AuthError, ConfigError, LedgerError, SnapcapiError
from snapcapi.send.ledger import RETENTION_SECONDS
from snapcapi.send.redact import redact
from snapcapi.spark.build import BuildTask
from snapcapi.spark.columns import BODY, BUCKET, DONE, ROW, VALID
from snapcapi.spark.delivered import has_deliveries, new_job_id
from snapcapi.spark.driver import READ_FIELDS, SAMPLE_ROWS, Prepared, checked_token, prepare, with_readings
from snapcapi.spark.send import Sending, SendTask

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

DEFAULT_MAX_REQUESTS_PER_SECOND: Final = spec.MAX_REQUESTS_PER_SECOND  # a fifth of Snap's recommendation
BUCKETS_PER_PARTITION: Final = 16  # buckets per send partition: evens out Spark's hash of the bucket


def run(
    df: DataFrame,
    *,
    send: bool,
    mapping: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    delivered: str | os.PathLike[str] | None = None,
    keys: Sequence[str] = (),
    max_requests_per_second: float = DEFAULT_MAX_REQUESTS_PER_SECOND,
    partitions: int | None = None,
    outcomes: str | os.PathLike[str] | None = None,
    record_every: int = 4,
    fail_after_requests: int | None = None,
    settings: Mapping[str, Any],
) -> DataFrame:
    """Run an upload (`send`) or a validate over `df`; return its outcomes, computed once.

    See `snapcapi.spark.upload` for the arguments; `fail_after_requests` is a test seam (`SendTask`).
    Raises TypeError, ConfigError, AuthError, DeliveryError, LedgerError; messages never hold a secret.
    """
    spark = df.sparkSession
    secrets: tuple[str, ...] = ()
    try:
        prepared = prepare(df.columns, send=send, mapping=mapping, keys=keys, settings=settings)
        secrets = prepared.settings.secrets()
        prepared = _readings(df, prepared)
        if not max_requests_per_second > 0:
            raise ConfigError(f"max_requests_per_second must be above 0, not {max_requests_per_second}")
        if partitions is not None and partitions < 1:
            raise ConfigError(f"partitions must be at least 1, not {partitions}")
        slots = max(1, spark.sparkContext.defaultParallelism)
        count = partitions or slots
        sending = None
        if send:
            refuse_speculation(spark.sparkContext.getConf().get("spark.speculation"))
            token = checked_token(prepared)
            secrets = (*secrets, *token.secrets())
            request = prepared.request
            sending = Sending(
                prepared.settings.api_url,
                token,
                rate=task_rate(max_requests_per_second, count, slots),
                batch_size=request.batch_size,
                concurrency=request.concurrency,
                max_retries=request.max_retries,
                timeout=request.timeout,
                test_event_code=request.test_event_code,
            )
        table = str(Path(delivered).absolute()) if delivered is not None and send else None
        built = _built(df, prepared, count, bodies=send)
        if table is not None and not prepared.request.resend and has_deliveries(table):
            built = _anti_join(spark, built, table, prepared.ctx.now)
        routed = built.repartition(count, BUCKET).sortWithinPartitions(BUCKET, "asset_id", "event_id", ROW)
        task = SendTask(
            tuple(keys),
            sending,
            delivered=table,
            job_id=new_job_id(time.time()),
            record_every=record_every,
            fail_after_requests=fail_after_requests,
        )
        result = routed.mapInArrow(task, _outcome_schema(df, keys))
        return _materialize(spark, result, outcomes)
    except SnapcapiError as err:
        message = redact(str(err), secrets)
        raise type(err)(message) if message != str(err) else err from None


def refuse_speculation(setting: str | None) -> None:
    """Raise ConfigError when `spark.speculation` is on: a speculative copy of a send task would send its
    events a second time, by design."""
    if (setting or "false").strip().lower() == "true":
        raise ConfigError(
            "spark.speculation is on: a speculative copy of a send task would send its events twice;"
            " turn it off for this job"
        )


def task_rate(budget: float, partitions: int, slots: int) -> float:
    """Return one send task's requests per second: the job's `budget` shared by the tasks that can run at
    once (no more than the `partitions`, no more than the cluster's task `slots`)."""
    return budget / max(1, min(partitions, slots))


def _readings(df: DataFrame, prepared: Prepared) -> Prepared:
    """Decide how the text columns that feed a number or a date write them, from the first rows, as the
    command line does for a file. Typed columns (double, timestamp, date) need no reading: their text is
    always plain. Runs one small job (a `limit`) only when a text column feeds such a field."""
    from pyspark.sql.types import StringType

    text = {
        column
        for column in prepared.text_columns_read_as(READ_FIELDS)
        if isinstance(df.schema[column].dataType, StringType)
    }
    if not text:
        return prepared
    columns = sorted(text)
    sample = df.select(*[f"`{c}`" for c in columns]).limit(SAMPLE_ROWS).collect()
    decided = with_readings(prepared, [tuple(row) for row in sample], columns)
    fields = {name for column, name in prepared.plan.pairs if column in text}
    return replace(decided, readings=tuple((f, r) for f, r in decided.readings if f in fields))


def _built(df: DataFrame, prepared: Prepared, count: int, *, bodies: bool) -> DataFrame:
    from pyspark.sql import functions as F

    wanted = list(dict.fromkeys([*prepared.columns, *prepared.keys]))
    rows = df.select(*[F.col(f"`{c}`") for c in wanted]).withColumn(ROW, F.monotonically_increasing_id())
    task = BuildTask(
        prepared.ctx,
        prepared.mapping,
        prepared.explicit,
        prepared.columns,
        prepared.keys,
        buckets=count * BUCKETS_PER_PARTITION,
        bodies=bodies,
        readings=prepared.readings,
    )
    return rows.mapInArrow(task, _built_schema(df, prepared.keys))


def _anti_join(spark: SparkSession, built: DataFrame, table: str, now: int) -> DataFrame:
    """Mark the rows whose event the delivered table holds (within the ledger's retention: older ids
    cannot matter, Snap refuses events that old)."""
    from pyspark.sql import functions as F

    done = (
        spark.read.parquet(Path(table).as_uri())
        .where(F.col("delivered_at") >= now - RETENTION_SECONDS)
        .select("asset_id", "event_id")
        .distinct()
        .withColumn(DONE, F.lit(True))
    )
    return built.join(done, on=["asset_id", "event_id"], how="left")


def _materialize(
    spark: SparkSession, result: DataFrame, outcomes: str | os.PathLike[str] | None
) -> DataFrame:
    """Compute the outcomes once: written to `outcomes` (Parquet) and read back, else checkpointed."""
    try:
        if outcomes is not None:
            path = Path(outcomes).absolute().as_uri()
            result.write.parquet(path)
            return spark.read.parquet(path)
        return result.localCheckpoint(eager=True)
    except Exception as err:  # a task's snapcapi error reaches the driver inside Spark's own
        raise _task_error(err) from None


def _task_error(err: Exception) -> Exception:
    """The snapcapi error a failed task raised (AuthError, LedgerError), or `err` itself."""
    text = str(err)
    for kind in (AuthError, LedgerError):
        marker = f"snapcapi.errors.{kind.__name__}: "
        at = text.rfind(marker)
        if at >= 0:
            return kind(text[at + len(marker) :].splitlines()[0])
    return err


def _built_schema(df: DataFrame, keys: Sequence[str]) -> StructType:
    from pyspark.sql import types as T

    text, texts = T.StringType(), T.ArrayType(T.StringType())
    return T.StructType(
        [
            T.StructField(ROW, T.LongType()),
            *(df.schema[key] for key in keys),
            T.StructField(BUCKET, T.IntegerType()),
            T.StructField(VALID, T.BooleanType()),
            T.StructField("event_name", text),
            T.StructField("event_id", text),
            T.StructField("asset_id", text),
            T.StructField("errors", texts),
            T.StructField("warnings", texts),
            T.StructField(BODY, T.BinaryType()),
        ]
    )


def _outcome_schema(df: DataFrame, keys: Sequence[str]) -> StructType:
    from pyspark.sql import types as T

    text, texts = T.StringType(), T.ArrayType(T.StringType())
    first = [df.schema[key] for key in keys] or [T.StructField("row_id", T.LongType())]
    return T.StructType(
        [
            *first,
            T.StructField("status", text),
            T.StructField("event_name", text),
            T.StructField("event_id", text),
            T.StructField("asset_id", text),
            T.StructField("errors", texts),
            T.StructField("warnings", texts),
        ]
    )
