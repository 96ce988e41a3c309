"""The columns snapcapi's Spark stages hand each other, and the outcome columns users get back.

    input columns  -> BuildTask  -> BUILT columns (+ DONE after the anti-join)  -> SendTask -> OUTCOME columns

Internal columns start with `_snapcapi_`; the user's key columns (or `row_id`) come first in the outcomes.
Arrow types only: pyspark is imported by `job` alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

ROW: Final = "_snapcapi_row"  # a row's id in the job (Spark's monotonically_increasing_id)
BUCKET: Final = "_snapcapi_bucket"  # which send task owns the row: a hash of asset_id:event_id
VALID: Final = "_snapcapi_valid"  # the row built into an event
BODY: Final = "_snapcapi_body"  # the event's JSON, as sent
DONE: Final = "_snapcapi_done"  # the delivered table holds the row's event already (earlier jobs)

ROW_ID: Final = "row_id"  # the outcomes' row id when the caller names no key columns
OUTCOME_COLUMNS: Final = ("status", "event_name", "event_id", "asset_id", "errors", "warnings")


def built_schema(keys: Sequence[tuple[str, Any]]) -> Any:
    """The Arrow schema of BuildTask's output: the row id, the key columns (name, Arrow type), the bucket,
    what was built and the event's body."""
    import pyarrow as pa

    return pa.schema(
        [
            (ROW, pa.int64()),
            *keys,
            (BUCKET, pa.int32()),
            (VALID, pa.bool_()),
            ("event_name", pa.string()),
            ("event_id", pa.string()),
            ("asset_id", pa.string()),
            ("errors", pa.list_(pa.string())),
            ("warnings", pa.list_(pa.string())),
            (BODY, pa.binary()),
        ]
    )


def outcome_schema(keys: Sequence[tuple[str, Any]]) -> Any:
    """The Arrow schema of the outcomes: the key columns (or `row_id`), then OUTCOME_COLUMNS."""
    import pyarrow as pa

    return pa.schema(
        [
            *(keys or [(ROW_ID, pa.int64())]),
            ("status", pa.string()),
            ("event_name", pa.string()),
            ("event_id", pa.string()),
            ("asset_id", pa.string()),
            ("errors", pa.list_(pa.string())),
            ("warnings", pa.list_(pa.string())),
        ]
    )
