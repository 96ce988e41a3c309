"""snapcapi.spark's partition-level tasks on Arrow batches, without Spark: building, routing, skipping,
sending, the delivered table, and the token kept out of every repr and message."""

from __future__ import annotations

import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from snapcapi.emulator import Emulator, EmulatorConfig
from snapcapi.errors import AuthError, ConfigError
from snapcapi.events.build import BuildContext
from snapcapi.events.mapping import MappingConfig, mapping_from_tables
from snapcapi.send.auth import StaticToken
from snapcapi.spark import BuildTask, Sending, SendTask, bucket_of
from snapcapi.spark.columns import DONE, ROW
from snapcapi.spark.delivered import DeliveredWriter, attempted, has_deliveries
from snapcapi.spark.job import refuse_speculation, task_rate
from snapcapi.spark.send import DELIVERED_EARLIER, DUPLICATE, SENT_BY_EARLIER_ATTEMPT
from snapcapi.spec import ActionSource
from tests.conftest import TOKEN

COLUMNS = ("order_id", "event_name", "event_time", "email", "value", "currency")


def _ctx() -> BuildContext:
    return BuildContext(now=int(time.time()), pixel_id="px", default_action_source=ActionSource.OFFLINE)


def _input(rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
    """An input batch as Spark hands it to the build task: the mapped columns and the row id."""
    columns = list(zip(*rows, strict=True))
    arrays: list[Any] = [pa.array(list(column)) for column in columns]
    arrays.append(pa.array(list(range(len(rows))), pa.int64()))
    return pa.RecordBatch.from_arrays(arrays, names=[*COLUMNS, ROW])


def _purchase(i: int, email: str | None = "jane{}@example.com") -> tuple[Any, ...]:
    return (f"ord-{i}", "PURCHASE", "now-2h", None if email is None else email.format(i), 12.5, "usd")


def _build(rows: list[tuple[Any, ...]], *, bodies: bool = True) -> pa.RecordBatch:
    task = BuildTask(_ctx(), MappingConfig(), {}, COLUMNS, ("order_id",), buckets=8, bodies=bodies)
    (batch,) = list(task([_input(rows)]))
    return batch


def _sorted(batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
    """The batch as the send task gets it: sorted by bucket, asset, event id and row."""
    table = pa.Table.from_batches([batch]).sort_by(
        [
            ("_snapcapi_bucket", "ascending"),
            ("asset_id", "ascending"),
            ("event_id", "ascending"),
            (ROW, "ascending"),
        ]
    )
    yield from table.to_batches()


def _outcomes(batches: Iterator[pa.RecordBatch]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pa.Table.from_batches(list(batches)).to_pylist()
    return rows


def test_build_task_builds_what_the_command_line_builds() -> None:
    """A valid row gets its event's JSON and its bucket; an invalid one its errors, and no body."""
    built = _build([_purchase(0), _purchase(1, email=None)]).to_pylist()
    assert built[0]["_snapcapi_valid"] is True
    assert built[0]["event_id"] == "ord-0"
    assert built[0]["asset_id"] == "px"
    assert built[0]["_snapcapi_bucket"] == bucket_of("px", "ord-0", 8)
    assert b'"currency":"USD"' in built[0]["_snapcapi_body"]
    assert built[0]["order_id"] == "ord-0"  # the key column, passed through
    assert built[1]["_snapcapi_valid"] is False
    assert built[1]["_snapcapi_body"] is None
    assert built[1]["errors"] == [
        "user_data: no matchable identifier (needs email, phone, mobile ad id, or IP address + user agent)"
    ]


def test_bucket_is_stable_and_in_range() -> None:
    """The bucket of an event is a pure function of asset and id (crc32), in 0..buckets-1."""
    assert bucket_of("px", "ord-1", 64) == bucket_of("px", "ord-1", 64)
    assert {bucket_of("px", f"ord-{i}", 4) for i in range(100)} == {0, 1, 2, 3}


def test_validate_task_skips_repeated_ids_and_keeps_the_first_row() -> None:
    """Without sending, valid rows are `valid`; a repeated event id is `skipped`, the lowest row kept."""
    built = _build([_purchase(0), _purchase(1), _purchase(0, email="other{}@example.com")], bodies=False)
    outcomes = {
        (o["order_id"], o["status"]): o for o in _outcomes(SendTask(("order_id",), None)(_sorted(built)))
    }
    assert sorted(outcomes) == [("ord-0", "skipped"), ("ord-0", "valid"), ("ord-1", "valid")]
    assert outcomes[("ord-0", "skipped")]["warnings"] == [DUPLICATE]


def test_send_task_sends_and_records_what_snap_took(tmp_path: Path, api: Emulator) -> None:
    """Valid new rows are sent and appended to the delivered table; a row the anti-join marked done is
    skipped; a row an earlier attempt delivered is `sent` without a request."""
    table = str(tmp_path / "delivered")
    earlier = DeliveredWriter(table, "job-1", 0, 0)
    earlier.add("px", ["ord-2"])
    earlier.flush()
    built = _build([_purchase(i) for i in range(4)] + [_purchase(9, email=None)])
    done = pa.array([row["event_id"] == "ord-3" for row in built.to_pylist()])
    built = built.append_column(DONE, done)
    sending = Sending(api.url, StaticToken(TOKEN), rate=100.0)
    task = SendTask(("order_id",), sending, delivered=table, job_id="job-1")
    outcomes = {o["order_id"]: o for o in _outcomes(task(_sorted(built)))}
    assert {k: o["status"] for k, o in outcomes.items()} == {
        "ord-0": "sent",
        "ord-1": "sent",
        "ord-2": "sent",
        "ord-3": "skipped",
        "ord-9": "invalid",
    }
    assert outcomes["ord-2"]["warnings"] == [SENT_BY_EARLIER_ATTEMPT]
    assert outcomes["ord-3"]["warnings"] == [DELIVERED_EARLIER]
    assert sorted(e["event"]["event_id"] for e in api.events()) == ["ord-0", "ord-1"]
    assert attempted(table, "job-1", 0) == {("px", "ord-0"), ("px", "ord-1"), ("px", "ord-2")}
    assert has_deliveries(table)


def test_send_task_fails_when_snap_refuses_the_token_and_never_shows_it(tmp_path: Path) -> None:
    """A token Snap refuses makes the task raise AuthError (the job fails) whose message has no token."""
    with Emulator(EmulatorConfig(access_tokens=frozenset({"another-token"}))) as emulator:
        sending = Sending(emulator.url, StaticToken(TOKEN), rate=100.0)
        task = SendTask(("order_id",), sending)
        with pytest.raises(AuthError) as caught:
            list(task(_sorted(_build([_purchase(0)]))))
    assert "refused the access token" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_tasks_pickle_without_showing_the_token() -> None:
    """The send task is what Spark ships to executors: its repr, and the build task's, hold no token."""
    task = SendTask(("order_id",), Sending("http://127.0.0.1:9", StaticToken(TOKEN), rate=1.0))
    assert TOKEN not in repr(task)
    assert TOKEN not in str(task)
    copy = pickle.loads(pickle.dumps(task))  # noqa: S301 - our own bytes
    assert repr(copy) == repr(task)
    assert copy.sending is not None
    assert copy.sending.token.token() == TOKEN
    build = BuildTask(_ctx(), MappingConfig(), {}, COLUMNS, (), buckets=8)
    assert pickle.loads(pickle.dumps(build)) == build  # noqa: S301 - our own bytes


def test_mapping_tables_are_read_as_a_mapping_file_is() -> None:
    """`mapping=` as a dict gives the MappingConfig a TOML file with the same tables gives."""
    config = mapping_from_tables(
        {
            "columns": {"email": "Mail"},
            "constants": {"currency": "EUR"},
            "event_names": {"Bought": "PURCHASE"},
        }
    )
    assert dict(config.columns) == {"email": "Mail"}
    assert dict(config.constants) == {"currency": "EUR"}
    assert config.event_names["bought"].value == "PURCHASE"


@pytest.mark.parametrize(
    ("budget", "partitions", "slots", "rate"),
    [(200.0, 8, 2, 100.0), (200.0, 1, 8, 200.0), (200.0, 16, 64, 12.5), (90.0, 3, 3, 30.0)],
)
def test_the_request_budget_is_shared_by_the_tasks_that_run_at_once(
    budget: float, partitions: int, slots: int, rate: float
) -> None:
    """Each send task gets the job's budget divided by the tasks that can run together, so that all of
    them at once stay within it."""
    assert task_rate(budget, partitions, slots) == rate
    assert task_rate(budget, partitions, slots) * min(partitions, slots) == budget


def test_relative_times_are_read_against_the_drivers_now_not_the_workers_clock() -> None:
    """`now` travels in the build task's context: a retried task, or one on another machine, reads
    `now-2h` as the driver did when the job started."""
    driver_now = int(time.time()) - 3600  # the job started an hour ago
    ctx = BuildContext(now=driver_now, pixel_id="px", default_action_source=ActionSource.OFFLINE)
    task = BuildTask(ctx, MappingConfig(), {}, COLUMNS, (), buckets=8)
    (batch,) = list(task([_input([_purchase(0)])]))
    body = batch.column("_snapcapi_body").to_pylist()[0]
    assert f'"event_time":{driver_now - 7200},'.encode() in body


def test_speculative_execution_is_refused_for_an_upload() -> None:
    """A job whose spark.speculation is on would send some events twice: upload refuses to start."""
    with pytest.raises(ConfigError, match=r"^spark\.speculation is on: a speculative copy"):
        refuse_speculation("true")
    refuse_speculation("false")
    refuse_speculation(None)
