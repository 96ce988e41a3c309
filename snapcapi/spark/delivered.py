"""The delivered table: every event id Snap took, so that no later job, and no retried task, sends it again.

A directory of Parquet files, one Hive-style partition per job:

    PATH/job=<job id>/part-<partition>-<attempt>-<writer>-<n>.parquet
        columns: asset_id, event_id, delivered_at (Unix seconds)

Spark reads it whole (`spark.read.parquet(PATH)`) for the anti-join before a job sends; a send task reads
only the files of its own partition in its own job, which an earlier attempt of it wrote before it failed.
A file is written under a hidden name (`.` first: Spark and this module skip it) and renamed into place,
so a reader never sees half of one. Task attempts write files of their own, never one another's.

The path must be one that both the Spark driver and the executors' Python see as a file system path (a
local directory in local mode; `/dbfs/...` or `/Volumes/...` on Databricks, an NFS mount elsewhere).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from snapcapi.errors import LedgerError

DELIVERED_COLUMNS: Final = ("asset_id", "event_id", "delivered_at")


def new_job_id(now: float) -> str:
    """Return a job id: when the job started (UTC), then random letters; never only digits, so Spark's
    partition inference keeps it a string."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + "-" + uuid.uuid4().hex[:10]


def has_deliveries(root: str) -> bool:
    """True when the table at `root` holds at least one file of deliveries."""
    base = Path(root)
    return base.is_dir() and any(base.glob("job=*/part-*.parquet"))


class DeliveredWriter:
    """Appends one task attempt's deliveries to the table, a file every `flush()`.

    Raises LedgerError when a file cannot be written; the events it names reached Snap, so the message
    says a later job may send them again.
    """

    def __init__(self, root: str, job_id: str, partition: int, attempt: int) -> None:
        self._dir = Path(root) / f"job={job_id}"
        # The writer's own random part: two writers never write the same file, even with the same attempt
        # number (outside Spark, or after a driver restart).
        self._stem = f"part-{partition:05d}-{attempt}-{uuid.uuid4().hex[:8]}"
        self._assets: list[str] = []
        self._ids: list[str] = []
        self._files = 0

    def add(self, asset_id: str, event_ids: Iterable[str]) -> None:
        """Note that Snap took these events of `asset_id` (written at the next `flush`)."""
        for event_id in event_ids:
            self._assets.append(asset_id)
            self._ids.append(event_id)

    @property
    def pending(self) -> int:
        """Deliveries noted and not yet written."""
        return len(self._ids)

    def flush(self, now: float | None = None) -> None:
        """Write the deliveries noted since the last flush, if any, as one file."""
        if not self._ids:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        stamp = int(time.time() if now is None else now)
        table = pa.table(
            {
                "asset_id": pa.array(self._assets, pa.string()),
                "event_id": pa.array(self._ids, pa.string()),
                "delivered_at": pa.array([stamp] * len(self._ids), pa.int64()),
            }
        )
        name = f"{self._stem}-{self._files:05d}.parquet"
        hidden = self._dir / f".{name}.tmp"
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, hidden)
            os.replace(hidden, self._dir / name)
        except OSError as err:
            raise LedgerError(
                f"cannot write to the delivered table {self._dir.parent}: {err.strerror or err}; the last"
                f" {len(self._ids)} events reached Snap but a later job will send them again"
            ) from None
        self._files += 1
        self._assets.clear()
        self._ids.clear()


def attempted(root: str, job_id: str, partition: int) -> set[tuple[str, str]]:
    """Return the (asset_id, event_id) pairs earlier attempts of this job's `partition` delivered.

    Raises LedgerError when a file of theirs cannot be read.
    """
    folder = Path(root) / f"job={job_id}"
    found: set[tuple[str, str]] = set()
    if not folder.is_dir():
        return found
    import pyarrow.parquet as pq

    for path in sorted(folder.glob(f"part-{partition:05d}-*.parquet")):
        try:
            table: Any = pq.read_table(path, columns=["asset_id", "event_id"])
        except (OSError, ValueError) as err:
            raise LedgerError(f"cannot read the delivered table file {path}: {err}") from None
        found.update(zip(table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True))
    return found
