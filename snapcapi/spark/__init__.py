"""snapcapi on Spark: send a DataFrame's events, with the command line's checks; get one outcome a row.

    import snapcapi.spark
    outcomes = snapcapi.spark.upload(df, pixel_id="...", delivered="/Volumes/main/snap/delivered")
    outcomes.groupBy("status").count().show()

Install with `pip install 'snapcapi[spark]'` (pyarrow; the cluster brings pyspark). Each partition runs the
command line's own building code (mapping, checks, normalizing, hashing, JSON) and its own client (batches
of up to 2000 events per asset, retries, refusal handling). The outcomes are computed by one action and
returned materialized, so counting them never sends again.

The partition-level pieces are public too, for a plan of one's own: `BuildTask` and `SendTask` are what
`DataFrame.mapInArrow` runs (see `snapcapi.spark.job` for how they are chained).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from snapcapi.spark.build import BuildTask, bucket_of
from snapcapi.spark.job import DEFAULT_MAX_REQUESTS_PER_SECOND, run
from snapcapi.spark.send import Sending, SendTask

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["BuildTask", "SendTask", "Sending", "bucket_of", "upload", "validate"]


def upload(
    df: DataFrame,
    *,
    pixel_id: str | None = None,
    snap_app_id: str | None = None,
    app_id: str | None = None,
    access_token: str | None = None,
    api_url: str | None = None,
    conversion_type: str | None = None,
    mapping: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    delivered: str | os.PathLike[str] | None = None,
    keys: Sequence[str] = (),
    max_requests_per_second: float = DEFAULT_MAX_REQUESTS_PER_SECOND,
    partitions: int | None = None,
    outcomes: str | os.PathLike[str] | None = None,
    **settings: Any,
) -> DataFrame:
    """Send the events of `df` to Snap; return a DataFrame of one outcome per input row.

    The outcome columns: `keys` (the input's own columns, to join back on) or, without keys, `row_id`;
    then `status` (sent, invalid, rejected, failed, skipped), `event_name`, `event_id`, `asset_id`,
    `errors` and `warnings` (arrays of strings, each "field: message").

    Settings are the front door's (`snapcapi.upload`), resolved on the driver: keyword, `SNAPCAPI_*`
    environment variable, `.env`, the mapping's `[settings]`; `conversion_type` is WEB unless one of
    them says otherwise. Also: `client_id`, `client_secret`, `refresh_token` (OAuth, granted once on the
    driver), `default_region`, `env_file`, `event_type`, `timezone`, `map`, `batch_size`, `concurrency`
    (requests in flight per task), `max_retries`, `timeout`, `test_event_code`, `resend`.
    `mapping` is a TOML mapping file's path, or its tables as a dict (`{"columns": {...}, ...}`).

    `delivered`: the delivered table's directory (Parquet): rows whose event it holds are `skipped`, and
    the events Snap takes are appended to it as they are acknowledged, so that the same input sent again
    sends nothing. `max_requests_per_second`: the budget of the whole job, shared by the tasks that run at
    once. `partitions`: send tasks (default: the cluster's default parallelism). `outcomes`: a directory
    to write the outcomes to as Parquet (default: checkpointed in the executors' storage).

    Raises ConfigError (settings, mapping, keys, spark.speculation on), AuthError (Snap refused the
    credentials: checked on the driver first; a task refused fails the job), DeliveryError, LedgerError.
    No message holds the token.
    """
    flags = {
        "pixel_id": pixel_id,
        "snap_app_id": snap_app_id,
        "app_id": app_id,
        "access_token": access_token,
        "api_url": api_url,
        "conversion_type": conversion_type,
    }
    return run(
        df,
        send=True,
        mapping=mapping,
        delivered=delivered,
        keys=keys,
        max_requests_per_second=max_requests_per_second,
        partitions=partitions,
        outcomes=outcomes,
        settings={**settings, **flags},
    )


def validate(
    df: DataFrame,
    *,
    pixel_id: str | None = None,
    snap_app_id: str | None = None,
    app_id: str | None = None,
    conversion_type: str | None = None,
    mapping: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    keys: Sequence[str] = (),
    partitions: int | None = None,
    outcomes: str | os.PathLike[str] | None = None,
    **settings: Any,
) -> DataFrame:
    """Check the rows of `df` as `upload` would, send nothing; return the outcomes (`valid`, `invalid`,
    or `skipped` for a repeated event id). Needs no credentials. Raises ConfigError."""
    flags = {
        "pixel_id": pixel_id,
        "snap_app_id": snap_app_id,
        "app_id": app_id,
        "conversion_type": conversion_type,
    }
    return run(
        df,
        send=False,
        mapping=mapping,
        keys=keys,
        partitions=partitions,
        outcomes=outcomes,
        settings={**settings, **flags},
    )
