"""Rows per second of `snapcapi.spark.upload` in Spark's local mode against `snapcapi upload`, same rows.

    python benchmarks/spark.py --rows 200000 --repeat 3 [--master 'local[2]']

Generates the offline-purchases CSV (`generate.py`) and starts the emulator as a process on 127.0.0.1
(`--latency 0.05 --discard-events`). Starts one SparkSession (timed: `session`), runs one small job to warm
its Python workers (timed: `first job`), then, `--repeat` times and interleaved so that a noisy neighbour
hurts both alike: `snapcapi upload FILE` as a process (its default workers: one per CPU, no ledger), and
`snapcapi.spark.upload` over `spark.read.csv(FILE)` with every column a string (the same text, so the same
events), no delivered table, the outcomes checkpointed. Prints the medians, the ratio, and rows per second
per core for the README's arithmetic. Needs the `spark` and `spark-test` extras.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

PIXEL = "bench-pixel"
TOKEN = "bench"  # the emulator's token here: not a secret


def start_emulator(latency: float) -> tuple[subprocess.Popen[str], str]:
    """Start the emulator on 127.0.0.1 and return the process and its URL."""
    argv = [sys.executable, "-m", "snapcapi.emulator", "--port", "0", "--latency", str(latency)]
    process = subprocess.Popen([*argv, "--discard-events"], stdout=subprocess.PIPE, text=True)  # noqa: S603
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line.rsplit(" ", 1)[-1].strip()


def cli_upload(path: Path, url: str) -> tuple[float, dict[str, Any]]:
    """Run `snapcapi upload` as a process; return its wall seconds and its --json summary."""
    argv = [sys.executable, "-m", "snapcapi", "upload", str(path), "--conversion-type", "OFFLINE"]
    argv += ["--pixel-id", PIXEL, "--api-url", url, "--access-token", TOKEN, "--no-ledger", "--json", "-q"]
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    seconds = time.perf_counter() - started
    summary: dict[str, Any] = json.loads(done.stdout)
    return seconds, summary


def spark_upload(spark: Any, path: Path, url: str) -> tuple[float, dict[str, int]]:
    """Run `snapcapi.spark.upload` over the CSV; return its wall seconds and its counts by status."""
    import snapcapi.spark

    started = time.perf_counter()
    df = spark.read.csv(str(path), header=True, inferSchema=False)
    outcomes = snapcapi.spark.upload(
        df, pixel_id=PIXEL, access_token=TOKEN, api_url=url, conversion_type="OFFLINE"
    )
    seconds = time.perf_counter() - started
    counts = {row["status"]: row["count"] for row in outcomes.groupBy("status").count().collect()}
    return seconds, counts


def main() -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    folder = Path(tempfile.mkdtemp(prefix="snapcapi-spark-bench-"))
    path = generate(folder / "events.csv", args.rows)
    small = generate(folder / "warm.csv", 2_000)
    emulator, url = start_emulator(args.latency)
    try:
        started = time.perf_counter()
        spark = (
            SparkSession.builder.master(args.master)
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        session = time.perf_counter() - started
        first, _ = spark_upload(spark, small, url)
        cores = spark.sparkContext.defaultParallelism
        cli_runs: list[float] = []
        spark_runs: list[float] = []
        for _ in range(args.repeat):
            seconds, summary = cli_upload(path, url)
            assert summary["sent"] == args.rows, summary
            cli_runs.append(seconds)
            seconds, counts = spark_upload(spark, path, url)
            assert counts == {"sent": args.rows}, counts
            spark_runs.append(seconds)
        spark.stop()
    finally:
        emulator.terminate()
        emulator.wait()
    cli_rate = args.rows / statistics.median(cli_runs)
    spark_rate = args.rows / statistics.median(spark_runs)
    figures = {
        "rows": args.rows,
        "master": args.master,
        "cores": cores,
        "session_seconds": round(session, 1),
        "first_job_seconds_2000_rows": round(first, 1),
        "cli_seconds": [round(s, 2) for s in cli_runs],
        "spark_seconds": [round(s, 2) for s in spark_runs],
        "cli_rows_per_second": round(cli_rate),
        "spark_rows_per_second": round(spark_rate),
        "spark_over_cli": round(spark_rate / cli_rate, 2),
        "spark_rows_per_second_per_core": round(spark_rate / cores),
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
