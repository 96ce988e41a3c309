"""Sending a partition's events: built rows in (routed and sorted by `job`), one outcome per row out.

`SendTask` is what `DataFrame.mapInArrow` runs on each routed partition; like `BuildTask` it needs pyarrow
only. Its rows come sorted by (bucket, asset_id, event_id, row), so the rows sharing an event id are next
to each other: the first is sent, the others are `skipped` as duplicates, in constant memory. A row the
delivered table already holds (the anti-join's DONE) is `skipped`; one that an earlier attempt of this
very task delivered (before it failed) is `sent` without a request. The rest go through the command
line's `Delivery` and `SnapClient`: batches of up to 2000 per asset, retries, refusal handling, the rate
limit (this task's share of the job's budget). Acknowledged ids are appended to the delivered table every
few requests, and whatever happens to the task.

When Snap refuses the credentials the task raises AuthError, so that the job fails rather than reporting
every row `failed`. The token travels as a `StaticToken`, whose repr is redacted; no message holds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from snapcapi.errors import AuthError, EndpointError
from snapcapi.model import EncodedEvent, RowOutcome, Status
from snapcapi.send.auth import StaticToken
from snapcapi.send.client import SnapClient, make_http_client
from snapcapi.send.delivery import Delivery
from snapcapi.spark.columns import BODY, DONE, ROW, VALID, outcome_schema
from snapcapi.spark.delivered import DeliveredWriter, attempted

DUPLICATE = "event_id: duplicate of another row of this job (same event_id); the first row is sent"
DELIVERED_EARLIER = "event_id: already delivered by an earlier job (the delivered table)"
SENT_BY_EARLIER_ATTEMPT = "event_id: delivered by an earlier attempt of this task, not sent again"
OUTCOME_ROWS = 8192  # rows of outcomes handed back to Spark at once


@dataclass(frozen=True, slots=True)
class Sending:
    """How a send task reaches Snap: the same client and delivery settings as the command line's, and
    this task's share of the job's request rate."""

    api_url: str
    token: StaticToken  # repr: StaticToken(REDACTED)
    rate: float  # requests per second for this task
    batch_size: int = 2000
    concurrency: int = 4
    max_retries: int = 8
    timeout: float = 30.0
    test_event_code: str | None = None

    def delivery(self) -> tuple[Delivery, Any]:
        """Return a new delivery, and the HTTP client to close once it is done."""
        http = make_http_client(timeout=self.timeout, max_connections=max(4, self.concurrency * 2))
        client = SnapClient(http, self.api_url, self.token, max_retries=self.max_retries)
        delivery = Delivery(
            client,
            batch_size=self.batch_size,
            concurrency=self.concurrency,
            max_rate=self.rate,
            test_event_code=self.test_event_code,
        )
        return delivery, http


@dataclass(frozen=True, slots=True)
class SendTask:
    """Sends (or, without `sending`, only checks) one routed partition; picklable.

    `delivered` is the delivered table's path (None: no table), `job_id` this job's id in it.
    `record_every`: requests between two files written to the table. `fail_after_requests` is a test seam:
    the first attempt of each task raises once that many requests are settled, as a lost executor would.
    """

    keys: tuple[str, ...]
    sending: Sending | None
    delivered: str | None = None
    job_id: str = ""
    record_every: int = 4
    fail_after_requests: int | None = None

    def __call__(self, batches: Iterable[Any]) -> Iterator[Any]:
        """Yield the outcome batches (`columns.outcome_schema`) of the partition's rows."""
        partition, attempt = _task_place()
        out = _Outcomes(self.keys)
        sending = self.sending
        if sending is None:
            for key, notes, event in self._events(batches, out, set()):
                out.add(key, Status.VALID.value, event.event_name, event.event_id, event.asset_id, [], notes)
                yield from out.take(OUTCOME_ROWS)
            yield from out.take(0)
            return
        earlier = attempted(self.delivered, self.job_id, partition) if self.delivered else set()
        writer = None
        if self.delivered and not sending.test_event_code:  # test events are not deliveries
            writer = DeliveredWriter(self.delivered, self.job_id, partition, attempt)
        delivery, http = sending.delivery()
        pending: dict[int, tuple[Any, list[str]]] = {}  # row -> its key and warnings, while in flight
        groups = 0
        try:
            events = self._pending(self._events(batches, out, earlier), pending)
            for group in delivery.deliver_batches(events):
                groups += 1
                self._settle(group, pending, out, writer)
                if writer is not None and groups % self.record_every == 0:
                    writer.flush()
                yield from out.take(OUTCOME_ROWS)
                if (
                    self.fail_after_requests is not None
                    and attempt == 0
                    and groups >= self.fail_after_requests
                ):
                    raise RuntimeError(f"failure injected after {groups} requests (fail_after_requests)")
        finally:
            if writer is not None:
                writer.flush()
            http.close()
        stopped = delivery.stopped_by
        if isinstance(stopped, AuthError):
            raise AuthError(str(stopped), stopped.status_code)
        if stopped is not None:  # the API URL does not answer as Snap's API
            raise EndpointError(str(stopped))
        yield from out.take(0)

    @staticmethod
    def _pending(
        events: Iterator[tuple[Any, list[str], EncodedEvent]], pending: dict[int, tuple[Any, list[str]]]
    ) -> Iterator[EncodedEvent]:
        for key, notes, event in events:
            pending[event.line] = (key, notes)
            yield event

    @staticmethod
    def _settle(
        group: list[RowOutcome],
        pending: dict[int, tuple[Any, list[str]]],
        out: _Outcomes,
        writer: DeliveredWriter | None,
    ) -> None:
        sent: dict[str, list[str]] = {}
        for outcome in group:
            key, notes = pending.pop(outcome.line)
            out.add(
                key,
                outcome.status.value,
                outcome.event_name,
                outcome.event_id,
                outcome.asset_id,
                outcome.errors,
                [*notes, *outcome.warnings],
            )
            if outcome.status is Status.SENT and outcome.asset_id and outcome.event_id:
                sent.setdefault(outcome.asset_id, []).append(outcome.event_id)
        if writer is not None:
            for asset_id, ids in sent.items():
                writer.add(asset_id, ids)

    def _events(
        self, batches: Iterable[Any], out: _Outcomes, earlier: set[tuple[str, str]]
    ) -> Iterator[tuple[Any, list[str], EncodedEvent]]:
        """Yield (key, warnings, event) for each row to send; every other row's outcome goes to `out`."""
        previous: tuple[str, str] | None = None
        for batch in batches:
            out.types(batch)
            names = batch.schema.names
            rows = batch.column(ROW).to_pylist()
            keys = (
                list(zip(*(batch.column(k).to_pylist() for k in self.keys), strict=True))
                if self.keys
                else rows
            )
            valid = batch.column(VALID).to_pylist()
            event_names = batch.column("event_name").to_pylist()
            event_ids = batch.column("event_id").to_pylist()
            assets = batch.column("asset_id").to_pylist()
            errors = batch.column("errors").to_pylist()
            warnings = batch.column("warnings").to_pylist()
            bodies = batch.column(BODY).to_pylist()
            done = batch.column(DONE).to_pylist() if DONE in names else [None] * batch.num_rows
            for i, row in enumerate(rows):
                name, event_id, asset_id = event_names[i], event_ids[i], assets[i]
                if not valid[i]:
                    out.add(keys[i], Status.INVALID.value, name, event_id, None, errors[i], warnings[i])
                    continue
                this = (asset_id, event_id)
                if this == previous:
                    out.add(
                        keys[i], Status.SKIPPED.value, name, event_id, asset_id, [], [*warnings[i], DUPLICATE]
                    )
                    continue
                previous = this
                if done[i]:
                    out.add(
                        keys[i],
                        Status.SKIPPED.value,
                        name,
                        event_id,
                        asset_id,
                        [],
                        [*warnings[i], DELIVERED_EARLIER],
                    )
                elif this in earlier:
                    out.add(
                        keys[i],
                        Status.SENT.value,
                        name,
                        event_id,
                        asset_id,
                        [],
                        [*warnings[i], SENT_BY_EARLIER_ATTEMPT],
                    )
                else:
                    yield keys[i], warnings[i], EncodedEvent("", row, asset_id, name, event_id, bodies[i])


class _Outcomes:
    """Outcome rows gathered column by column, handed out as Arrow batches."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._keys = keys
        self._schema: Any = None
        self._columns: list[list[Any]] = [[] for _ in range(len(keys or (None,)) + 6)]

    def types(self, batch: Any) -> None:
        """Learn the key columns' Arrow types from the first input batch."""
        if self._schema is None:
            self._schema = outcome_schema([(k, batch.schema.field(k).type) for k in self._keys])

    def add(
        self,
        key: Any,
        status: str,
        event_name: str | None,
        event_id: str | None,
        asset_id: str | None,
        errors: Iterable[Any],
        warnings: Iterable[Any],
    ) -> None:
        """Add one row's outcome; `key` is its key values (a tuple), or its row id without keys."""
        columns = self._columns
        width = len(self._keys)
        if width:
            for i in range(width):
                columns[i].append(key[i])
        else:
            columns[0].append(key)
            width = 1
        columns[width].append(status)
        columns[width + 1].append(event_name)
        columns[width + 2].append(event_id)
        columns[width + 3].append(asset_id)
        columns[width + 4].append([str(e) for e in errors])
        columns[width + 5].append([str(w) for w in warnings])

    def take(self, at_least: int) -> Iterator[Any]:
        """Yield the gathered rows as one batch when there are `at_least` of them (and any)."""
        count = len(self._columns[0])
        if count == 0 or count < at_least:
            return
        import pyarrow as pa

        schema = self._schema
        arrays = [pa.array(values, field.type) for values, field in zip(self._columns, schema, strict=True)]
        for values in self._columns:
            values.clear()
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _task_place() -> tuple[int, int]:
    """This task's partition and attempt numbers (0, 0 outside Spark)."""
    try:
        from pyspark import TaskContext
    except ImportError:
        return 0, 0
    context = TaskContext.get()
    if context is None:
        return 0, 0
    return context.partitionId(), context.attemptNumber()
