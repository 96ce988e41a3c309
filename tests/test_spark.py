"""snapcapi.spark in Spark's local mode (2 threads, tasks retried) against the emulator started as a process.

One SparkSession serves every test here (starting one costs seconds); each test starts its own emulator.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import snapcapi
import snapcapi.spark
from snapcapi.emulator import LISTENING
from snapcapi.errors import AuthError, ConfigError
from snapcapi.read.typed import as_text
from snapcapi.send.auth import StaticToken
from snapcapi.spark.send import DUPLICATE, SENT_BY_EARLIER_ATTEMPT
from tests.conftest import TOKEN

PREFIX = LISTENING.split("{url}")[0]
ROWS = 20_000
DUPLICATES = 100  # the last rows repeat the order ids of the first ones


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """Spark in local mode: 2 threads, each task tried up to 4 times (`local[2,4]`), no UI."""
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers must run this Python, which has snapcapi
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = (
        SparkSession.builder.master("local[2,4]")
        .appName("snapcapi-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


class EmulatorProcess:
    """`python -m snapcapi.emulator --port 0 ...` on loopback."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "snapcapi.emulator", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line.startswith(PREFIX), line
        self.url = line[len(PREFIX) :].strip()

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(f"{self.url}/_emulator/stats", timeout=10).json()
        return result

    def events(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = httpx.get(f"{self.url}/_emulator/events", timeout=30).json()["events"]
        return result

    def reset(self) -> None:
        httpx.post(f"{self.url}/_emulator/reset", timeout=10)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def emulator() -> Iterator[Callable[..., EmulatorProcess]]:
    """Start emulator processes with the given options; each is stopped after the test."""
    started: list[EmulatorProcess] = []

    def start(*args: str) -> EmulatorProcess:
        started.append(EmulatorProcess("--access-token", TOKEN, *args))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def _source_rows(count: int) -> list[dict[str, Any]]:
    """Purchases with typed values; every 20th has no identifier (invalid); the last DUPLICATES repeat the
    order ids of the first rows."""
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    return [
        {
            "order_id": f"ord-{i if i < count - DUPLICATES else i - (count - DUPLICATES)}",
            "event_name": "PURCHASE",
            "event_time": when - timedelta(seconds=i),
            "email": None if i % 20 == 7 else f"Jane.Rowe{i}@Example.com",
            "value": i % 100 + 0.5,
            "currency": "usd",
        }
        for i in range(count)
    ]


def _frame(spark: SparkSession, rows: list[dict[str, Any]]) -> DataFrame:
    """The rows as a DataFrame, in their order (a row's place decides which of two repeated ids is sent)."""
    schema = "order_id string, event_name string, event_time timestamp, email string, value double"
    schema += ", currency string"
    return spark.createDataFrame([tuple(r.values()) for r in rows], schema)


def _expected(rows: list[dict[str, Any]]) -> tuple[int, int, int]:
    """(valid distinct ids, invalid rows, skipped duplicates) of `_source_rows`."""
    invalid = sum(1 for r in rows if r["email"] is None)
    valid_ids = [r["order_id"] for r in rows if r["email"] is not None]
    return len(set(valid_ids)), invalid, len(valid_ids) - len(set(valid_ids))


def _counts(outcomes: DataFrame) -> dict[str, int]:
    return {row["status"]: row["count"] for row in outcomes.groupBy("status").count().collect()}


def test_upload_delivers_every_valid_row_once_through_faults_and_a_second_job_sends_nothing(
    spark: SparkSession, emulator: Callable[..., EmulatorProcess], tmp_path: Path
) -> None:
    """20k rows, some invalid and some repeated, against 5% 500s and 5% 429s: each valid event reaches the
    emulator once, the outcome counts are the emulator's, the events are the CLI's byte for byte, and a
    second job over the same rows sends nothing and reports them skipped."""
    server = emulator("--rate-5xx", "0.05", "--rate-429", "0.05", "--seed", "15")
    rows = _source_rows(ROWS)
    distinct, invalid, duplicates = _expected(rows)
    df = _frame(spark, rows)
    settings: dict[str, Any] = {"pixel_id": "px", "access_token": TOKEN, "api_url": server.url}
    table = tmp_path / "delivered"
    outcomes = snapcapi.spark.upload(
        df,
        **settings,
        conversion_type="OFFLINE",
        delivered=table,
        keys=["order_id"],
        max_retries=20,
        batch_size=500,
    )
    stats = server.stats()
    counts = _counts(outcomes)
    assert counts == {"sent": distinct, "invalid": invalid, "skipped": duplicates}
    assert outcomes.count() == ROWS
    assert stats["events_kept"] == stats["distinct_events"] == distinct
    assert stats["by_status"]["429"] > 0
    assert sum(n for code, n in stats["by_status"].items() if code.startswith("5")) > 0
    skipped = outcomes.where(F.col("status") == "skipped").select("warnings").collect()
    assert all(DUPLICATE in row["warnings"] for row in skipped)
    assert TOKEN not in json.dumps([row.asDict() for row in outcomes.collect()])

    # The command line, given the same rows as CSV, sends the very same events.
    spark_events = sorted(json.dumps(e["event"], sort_keys=True) for e in server.events())
    server.reset()
    path = tmp_path / "events.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(rows[0])
        writer.writerows([as_text(v) for v in row.values()] for row in rows)
    report = snapcapi.upload(
        path, **settings, conversion_type="OFFLINE", no_ledger=True, workers=1, max_retries=20
    )
    assert report.count(snapcapi.Status.SENT) == distinct
    assert sorted(json.dumps(e["event"], sort_keys=True) for e in server.events()) == spark_events

    server.reset()
    again = snapcapi.spark.upload(
        df, **settings, conversion_type="OFFLINE", delivered=table, keys=["order_id"]
    )
    assert _counts(again) == {"skipped": distinct + duplicates, "invalid": invalid}
    after = server.stats()
    assert after["events_kept"] == 0
    assert after["by_status"].get("200", 0) == 0  # no request of events at all; only the credential check


def test_a_send_task_that_fails_midway_is_retried_and_nothing_is_lost(
    spark: SparkSession, emulator: Callable[..., EmulatorProcess], tmp_path: Path
) -> None:
    """Each send task's first attempt dies after 2 requests; Spark retries it: every valid event is
    delivered (the one Snap refuses is `rejected`), the retry skips what the dead attempt recorded, and the
    only duplicates are requests that were in flight when it died."""
    server = emulator("--reject-event-id", "ord-5")
    rows = _source_rows(4_000)
    distinct, invalid, duplicates = _expected(rows)
    distinct -= 1  # ord-5 is refused by Snap
    outcomes = snapcapi.spark.job.run(
        _frame(spark, rows),
        send=True,
        delivered=tmp_path / "delivered",
        keys=["order_id"],
        partitions=2,
        record_every=1,
        fail_after_requests=2,
        settings={
            "pixel_id": "px",
            "access_token": TOKEN,
            "api_url": server.url,
            "conversion_type": "OFFLINE",
            "batch_size": 200,
            "concurrency": 2,
        },
    )
    stats = server.stats()
    assert _counts(outcomes) == {"sent": distinct, "invalid": invalid, "skipped": duplicates, "rejected": 1}
    assert stats["distinct_events"] == distinct
    (rejected,) = outcomes.where(F.col("status") == "rejected").collect()
    assert rejected["order_id"] == "ord-5"
    assert rejected["errors"] == ["snap: Event refused by the emulator (--reject-event-id)"]
    in_flight = 2 * (2 + 1) * 200  # tasks x requests a delivery keeps pending x batch size
    assert 0 <= stats["events_kept"] - distinct <= in_flight
    warned = outcomes.where(F.array_contains("warnings", SENT_BY_EARLIER_ATTEMPT)).count()
    assert warned >= 2 * 200  # each retry found at least the full request its first attempt recorded


def test_validate_checks_every_row_and_needs_no_credentials(spark: SparkSession, tmp_path: Path) -> None:
    """validate: valid, invalid and skipped (repeated ids) rows, a row id without keys, columns mapped by
    a dict mapping, the outcomes written where asked; no token needed and nothing sent."""
    rows = _source_rows(1_000)
    distinct, invalid, duplicates = _expected(rows)
    df = _frame(spark, rows).withColumnRenamed("email", "Mail")
    written = tmp_path / "outcomes"
    outcomes = snapcapi.spark.validate(
        df, pixel_id="px", conversion_type="OFFLINE", mapping={"columns": {"email": "Mail"}}, outcomes=written
    )
    assert list(written.glob("part-*.parquet"))
    assert outcomes.columns == [
        "row_id",
        "status",
        "event_name",
        "event_id",
        "asset_id",
        "errors",
        "warnings",
    ]
    assert _counts(outcomes) == {"valid": distinct, "invalid": invalid, "skipped": duplicates}
    assert outcomes.select("row_id").distinct().count() == 1_000
    assert spark.read.parquet(str(written)).count() == 1_000


def test_refused_credentials_stop_the_job_on_the_driver_without_showing_the_token(
    spark: SparkSession, emulator: Callable[..., EmulatorProcess]
) -> None:
    """A token Snap refuses is found by one check on the driver: AuthError, before any task; its message
    never holds the token."""
    server = emulator()
    wrong = "tok-WRONG-0042-secret"
    with pytest.raises(AuthError) as caught:
        snapcapi.spark.upload(
            _frame(spark, _source_rows(10)), pixel_id="px", access_token=wrong, api_url=server.url
        )
    assert "refused the access token" in str(caught.value)
    assert wrong not in str(caught.value)
    assert server.stats()["events_kept"] == 0


def test_settings_are_checked_on_the_driver(spark: SparkSession, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad settings, keys and mappings stop the job before it starts, each with a message."""
    df = _frame(spark, _source_rows(5))
    with pytest.raises(ConfigError, match="To send WEB events, set a Pixel ID"):
        snapcapi.spark.upload(df, access_token=TOKEN)
    monkeypatch.setenv("SNAPCAPI_PIXEL_ID", "px")  # the environment counts, on the driver
    with pytest.raises(ConfigError, match=r"keys: the DataFrame has no column 'nope'"):
        snapcapi.spark.validate(df, keys=["nope"])
    with pytest.raises(ConfigError, match=r"the mapping names column 'Missing' for email"):
        snapcapi.spark.validate(df, mapping={"columns": {"email": "Missing"}})
    with pytest.raises(TypeError, match="'report'"):
        snapcapi.spark.validate(df, report="r.jsonl")


def test_a_task_refused_by_snap_fails_the_job_with_auth_error_and_no_token_anywhere(
    spark: SparkSession,
    emulator: Callable[..., EmulatorProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """When Snap refuses the token in the tasks (the driver's check passed: the token was revoked
    meanwhile), the job fails with AuthError rather than reporting every row failed, and its message
    (which Spark also logs, from the task's traceback) holds no token."""
    server = emulator()
    revoked = "tok-REVOKED-0099-secret"
    monkeypatch.setattr(snapcapi.spark.job, "checked_token", lambda prepared: StaticToken(revoked))
    with pytest.raises(AuthError, match="refused the access token") as caught:
        snapcapi.spark.upload(
            _frame(spark, _source_rows(50)),
            pixel_id="px",
            access_token=revoked,
            api_url=server.url,
            conversion_type="OFFLINE",
            partitions=1,
        )
    assert revoked not in str(caught.value)
    assert revoked not in repr(caught.value)
    assert server.stats()["events_kept"] == 0


def test_text_columns_write_numbers_as_the_command_line_reads_them(spark: SparkSession) -> None:
    """A text column of prices written with a decimal comma is read as the command line reads such a
    file's column (decided from the first rows; read plainly, none of them is a number), and a typed
    column is never re-read, whatever `decimal_comma` says."""
    when = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    prices = ["12,50", "1.234,56", "7,5"]
    rows = [(f"ord-{i}", "PURCHASE", when, f"ann{i}@example.com", prices[i % 3], "EUR") for i in range(30)]
    schema = "order_id string, event_name string, event_time string, email string, price string"
    df = spark.createDataFrame(rows, schema + ", currency string")
    common: dict[str, Any] = {"pixel_id": "px", "conversion_type": "OFFLINE", "map": {"value": "price"}}
    assert _counts(snapcapi.spark.validate(df, **common)) == {"valid": 30}
    typed = df.withColumn("price", F.lit(12.5))
    assert _counts(snapcapi.spark.validate(typed, **common, decimal_comma=True)) == {"valid": 30}
