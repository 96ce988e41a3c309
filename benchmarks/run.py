"""The benchmark of issues 5 and 16: snapcapi against Snap's SDK and a minimal pipeline, the cron path
(`--report` and `--rejects`, the ledger on) against plain `validate`, and upload against validate.

    python benchmarks/run.py --rows 500000 --repeat 3 --peer-python benchmarks/.venv/bin/python

For each size: generates the offline-purchases CSV (`generate.py`), and the same file with UUIDs as event
ids, starts the emulator as a real process on 127.0.0.1 (`snapcapi mock-server --latency 0.05
--discard-events`), then runs, `--repeat` times and interleaved so that a noisy neighbour hurts them
alike, each as a process of its own: Snap's SDK and the minimal pipeline (`peers.py`, on the first
`--peer-rows` rows: their rate does not depend on the file's length); `snapcapi validate`; the cron path,
`validate --report r.jsonl --rejects j.csv`; `upload` and `upload --report --rejects` (a fresh ledger each
run); and both validates again on the UUID file. Prints the median rows per second and CPU time, and the
ratios the issues ask for, each against its target. Then runs the cron paths once more each to measure
their peak memory (sampling it slows the run it samples), every 0.1 s over the process and all its
descendants (worker processes included): the sum of their PSS (each page shared between processes counted
once, split between them) and, the cruder upper bound, the sum of their RSS (a shared page counted in every
process that maps it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

PIXEL = "bench-pixel"
# How often a run's CPU time, or its memory, is sampled. Memory in these runs rises to a plateau, which
# 0.1 s does not miss. The CPU time of a run's worker processes is their last sample, so up to 0.1 s of
# each may go uncounted (the run's own process is counted exactly once it has ended).
SAMPLE_SECONDS = 0.1
TARGETS = {"sdk": 10.0, "minimal": 2.0, "upload": 0.9, "memory_mb": 150.0}  # issue 5
# issue 16: the cron path against plain validate, the SDK and the minimal pipeline; upload's CPU a row
# (with both outputs and the ledger) against validate's, at most.
CRON_TARGETS = {"outputs": 0.9, "sdk": 8.0, "minimal": 2.5, "upload_cpu": 1.2}


@dataclass
class Run:
    """One timed process: wall seconds, rows done, peak summed PSS and RSS of it and its descendants."""

    seconds: float
    rows: int
    peak_pss: int
    peak_rss: int
    output: str
    cpu: float = 0.0  # CPU seconds of the process and its descendants
    cpu_other: float = 0.0  # CPU seconds the emulator spent meanwhile (upload runs)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


@dataclass
class Series:
    """The runs of one pipeline at one size."""

    name: str
    runs: list[Run] = field(default_factory=list)  # timed
    memory: list[Run] = field(default_factory=list)  # run again to measure memory

    @property
    def rate(self) -> float:
        return statistics.median(run.rate for run in self.runs)

    @property
    def cpu_per_row(self) -> float:
        """Median CPU microseconds per row, all the run's processes together."""
        return statistics.median(run.cpu / run.rows * 1e6 for run in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(run.peak_pss for run in self.memory) / 1e6

    @property
    def peak_rss_mb(self) -> float:
        return max(run.peak_rss for run in self.memory) / 1e6


def _children(pid: int) -> list[int]:
    """Return `pid` and its descendants, from each process's /proc/PID/task/TID/children list (cheaper
    than reading the parent of every process on the machine)."""
    found = [pid]
    stack = [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children", "rb") as children:
                    kids = [int(kid) for kid in children.read().split()]
            except (OSError, ValueError):
                continue
            found.extend(kids)
            stack.extend(kids)
    return found


def _tree_cpu(pid: int, cpu: dict[int, float]) -> None:
    """Note the CPU time of `pid` and each of its descendants so far."""
    for member in _children(pid):
        try:
            cpu[member] = _cpu_seconds(member)
        except (OSError, IndexError, ValueError):
            continue


def _tree_memory(pid: int) -> tuple[int, int]:
    """Return the summed PSS and RSS, in bytes, of `pid` and its descendants."""
    pss = rss = 0
    for member in _children(pid):
        try:
            with open(f"/proc/{member}/smaps_rollup", "rb") as rollup:
                for line in rollup:
                    if line.startswith((b"Pss:", b"Rss:")):
                        kib = int(line.split()[1]) * 1024
                        if line.startswith(b"Pss:"):
                            pss += kib
                        else:
                            rss += kib
        except (OSError, IndexError, ValueError):
            continue
    return pss, rss


def _reaped_cpu_seconds() -> float:
    """CPU seconds of this process's children that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        fields = stat.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(argv: Sequence[str], rows: int, other: int | None = None, *, memory: bool = False) -> Run:
    """Run `argv` to its end and return its wall time, CPU time and, with `memory`, its peak memory;
    raises if it fails. Memory is measured in runs of its own: reading a process's memory map stalls
    it while it allocates, which would slow the run being timed (by about 15% for snapcapi validate)."""
    cpu_before = _cpu_seconds(other) if other else 0.0
    reaped_before = _reaped_cpu_seconds()
    started = time.perf_counter()
    # The benchmark runs its own commands: snapcapi and the peers, with arguments it made itself.
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603
    peak_pss = peak_rss = 0
    cpu: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_pss, peak_rss
        while not done.wait(SAMPLE_SECONDS):
            _tree_cpu(process.pid, cpu)
            if memory:
                pss, rss = _tree_memory(process.pid)
                peak_pss, peak_rss = max(peak_pss, pss), max(peak_rss, rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}... exited {process.returncode}: {err[-2000:]}")
    # The process itself, now reaped, counted exactly (its last moments escape the sampling); worker
    # processes are reaped by their forkserver, not by it, so they stay sampled.
    cpu[process.pid] = max(cpu.get(process.pid, 0.0), _reaped_cpu_seconds() - reaped_before)
    cpu_other = (_cpu_seconds(other) - cpu_before) if other else 0.0
    return Run(seconds, rows, peak_pss, peak_rss, out, sum(cpu.values()), cpu_other)


def _check(run: Run, key: str, rows: int) -> None:
    summary = json.loads(run.output)
    if summary.get(key) != rows:
        raise RuntimeError(f"expected {rows} rows {key}, got {summary}")


def start_emulator(latency: float) -> tuple[subprocess.Popen[str], str]:
    """Start `snapcapi mock-server` on 127.0.0.1 and return the process and its URL."""
    argv = [sys.executable, "-m", "snapcapi", "mock-server", "--port", "0", "--latency", str(latency)]
    process = subprocess.Popen([*argv, "--discard-events"], stdout=subprocess.PIPE, text=True)  # noqa: S603
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line.rsplit(" ", 1)[-1].strip()


# The runs of one size, in the order they are interleaved.
NAMES = (
    "sdk",
    "minimal",
    "validate",
    "validate_cron",
    "upload",
    "upload_cron",
    "validate_uuid",
    "validate_cron_uuid",
)
MEMORY_NAMES = ("validate_cron", "upload_cron")


def bench_size(args: argparse.Namespace, rows: int, workdir: Path) -> dict[str, Series]:
    """Run every pipeline `args.repeat` times on a file of `rows` rows (and its UUID twin)."""
    path = workdir / f"offline_purchases_{rows}.csv"
    uuid_path = workdir / f"offline_purchases_{rows}_uuid.csv"
    for target, uuid_ids in ((path, False), (uuid_path, True)):
        if not target.exists():
            print(f"generating {target.name} ...", file=sys.stderr, flush=True)
            generate(target, rows, uuid_ids=uuid_ids)
    peer_rows = min(rows, args.peer_rows)
    snapcapi = [sys.executable, "-m", "snapcapi"]
    common = ["--conversion-type", "OFFLINE", "--pixel-id", PIXEL, "--json", "--quiet"]
    if args.workers:
        common += ["--workers", str(args.workers)]
    series = {name: Series(name) for name in NAMES}
    emulator, url = start_emulator(args.latency)
    sending = ["--api-url", url, "--access-token", "bench"]
    outputs = ["--report", str(workdir / "report.jsonl"), "--rejects", str(workdir / "rejects.csv")]
    peers = [args.peer_python, str(HERE / "peers.py")]
    argvs = {
        "sdk": [*peers, "sdk", str(path), str(peer_rows)],
        "minimal": [*peers, "minimal", str(path), str(peer_rows)],
        "validate": [*snapcapi, "validate", str(path), *common],
        "validate_cron": [*snapcapi, "validate", str(path), *common, *outputs],
        "upload": [*snapcapi, "upload", str(path), *common, *sending],
        "upload_cron": [*snapcapi, "upload", str(path), *common, *sending, *outputs],
        "validate_uuid": [*snapcapi, "validate", str(uuid_path), *common],
        "validate_cron_uuid": [*snapcapi, "validate", str(uuid_path), *common, *outputs],
    }

    def run_one(name: str, memory: bool) -> Run:
        argv = argvs[name]
        if name in ("sdk", "minimal"):
            return measure(argv, peer_rows)
        if name.startswith("upload"):
            with tempfile.TemporaryDirectory() as state:  # a fresh ledger each run
                run = measure([*argv, "--state-dir", state], rows, other=emulator.pid, memory=memory)
            _check(run, "sent", rows)
        else:
            run = measure(argv, rows, memory=memory)
            _check(run, "valid", rows)
        if "--report" in argv:
            _check_report(workdir / "report.jsonl", rows)
        return run

    try:
        for attempt in range(args.repeat):
            print(f"{rows:,} rows: run {attempt + 1} of {args.repeat}", file=sys.stderr, flush=True)
            for name in NAMES:
                series[name].runs.append(run_one(name, memory=False))
        print(f"{rows:,} rows: memory", file=sys.stderr, flush=True)
        for name in MEMORY_NAMES:
            series[name].memory.append(run_one(name, memory=True))
    finally:
        emulator.terminate()
        emulator.wait(10)
    return series


def _check_report(path: Path, rows: int) -> None:
    """The report the run wrote has a record per row (its size tells nothing of its speed otherwise)."""
    with path.open("rb") as report:
        lines = sum(1 for _ in report)
    if lines != rows:
        raise RuntimeError(f"{path} has {lines} records, not {rows}")
    path.unlink()


LABELS = {
    "validate": "snapcapi validate",
    "validate_cron": "validate --report --rejects",
    "upload": "snapcapi upload (ledger on)",
    "upload_cron": "upload --report --rejects (ledger on)",
    "validate_uuid": "validate, UUID event ids",
    "validate_cron_uuid": "validate --report --rejects, UUID event ids",
}


def _verdict(value: float, target: float, *, at_most: bool = False) -> str:
    met = value <= target if at_most else value >= target
    return f"(target {'<=' if at_most else '>='} {target:g}: {'met' if met else 'NOT met'})"


def report(rows: int, series: dict[str, Series], args: argparse.Namespace) -> list[str]:
    """Return the lines printed for one size."""
    peer_rows = min(rows, args.peer_rows)
    labels = {
        "sdk": f"Snap's SDK, first {peer_rows:,} rows",
        "minimal": f"minimal (csv+phonenumbers+sha256+json), first {peer_rows:,}",
        **LABELS,
    }
    lines = [
        f"== {rows:,} rows, {args.repeat} runs each, medians; {os.cpu_count()} CPUs;"
        f" uploads to the emulator answering after {args.latency * 1000:.0f} ms"
    ]
    lines.append(
        f"{'pipeline':<58} {'rows/s':>8} {'CPU us/row':>10} {'PSS MB':>6} {'RSS MB':>6}  runs (rows/s)"
    )
    for name, item in series.items():
        measured = bool(item.memory)
        memory = f"{item.peak_mb:6.0f} {item.peak_rss_mb:6.0f}" if measured else f"{'':>6} {'':>6}"
        runs = ", ".join(f"{run.rate:,.0f}" for run in item.runs)
        lines.append(f"{labels[name]:<58} {item.rate:>8,.0f} {item.cpu_per_row:>10.1f} {memory}  {runs}")
    sdk, minimal = series["sdk"], series["minimal"]
    validate, cron, upload = series["validate"], series["validate_cron"], series["upload"]
    upload_cron, cron_uuid = series["upload_cron"], series["validate_cron_uuid"]
    cpu_ratio = upload_cron.cpu_per_row / validate.cpu_per_row
    cron_lines = [
        ("cron / validate", cron.rate / validate.rate, CRON_TARGETS["outputs"], False),
        ("cron / SDK", cron.rate / sdk.rate, CRON_TARGETS["sdk"], False),
        ("cron / minimal", cron.rate / minimal.rate, CRON_TARGETS["minimal"], False),
        ("cron UUID / SDK", cron_uuid.rate / sdk.rate, CRON_TARGETS["sdk"], False),
        ("cron UUID / minimal", cron_uuid.rate / minimal.rate, CRON_TARGETS["minimal"], False),
        ("upload cron CPU/row / validate", cpu_ratio, CRON_TARGETS["upload_cpu"], True),
    ]
    lines.append("issue 16, the cron path:")
    for label, value, target, at_most in cron_lines:
        lines.append(f"  {label:<32} {value:6.2f}x   {_verdict(value, target, at_most=at_most)}")
    lines.append(
        f"  upload cron CPU/row / validate cron CPU/row {upload_cron.cpu_per_row / cron.cpu_per_row:.2f}x;"
        f" UUID ids cost the cron path {cron.rate / cron_uuid.rate - 1:+.0%} time"
        f" (plain validate {validate.rate / series['validate_uuid'].rate - 1:+.0%})"
    )
    lines.append("issue 5:")
    for label, value, target in (
        ("validate / SDK", validate.rate / sdk.rate, TARGETS["sdk"]),
        ("validate / minimal", validate.rate / minimal.rate, TARGETS["minimal"]),
        ("upload / validate", upload.rate / validate.rate, TARGETS["upload"]),
    ):
        lines.append(f"  {label:<32} {value:6.2f}x   {_verdict(value, target)}")
    emulator_cpu = statistics.median(run.cpu_other for run in upload_cron.runs)
    upload_seconds = statistics.median(run.seconds for run in upload_cron.runs)
    lines.append(
        f"emulator CPU during an upload --report --rejects: {emulator_cpu:.1f} s in {upload_seconds:.1f} s"
        f" ({emulator_cpu / rows * 1e6:.1f} us/row, on the same CPUs)"
    )
    peak = max(series[name].peak_mb for name in MEMORY_NAMES)
    rss = max(series[name].peak_rss_mb for name in MEMORY_NAMES)
    verdict = _verdict(peak, TARGETS["memory_mb"], at_most=True)
    lines.append(f"peak memory, all snapcapi processes: {peak:.0f} MB PSS {verdict}, {rss:.0f} MB summed RSS")
    return lines


def main() -> None:
    """Command line; see the module docstring."""
    parser = argparse.ArgumentParser(description="snapcapi against Snap's SDK and a minimal pipeline")
    parser.add_argument("--rows", type=int, action="append", help="file size in rows (repeatable)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peer-rows", type=int, default=200_000, help="rows the SDK and minimal runs do")
    parser.add_argument("--peer-python", default=_default_peer_python(), help="Python with requirements.txt")
    parser.add_argument("--workers", type=int, default=0, help="snapcapi --workers (default: its own)")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--dir", type=Path, default=None, help="where the generated files go (kept)")
    args = parser.parse_args()
    sizes = args.rows or [500_000]
    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.dir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        lines: list[str] = []
        peaks: list[tuple[int, float]] = []
        for rows in sizes:
            series = bench_size(args, rows, workdir)
            lines += report(rows, series, args)
            peaks.append((rows, max(series[name].peak_mb for name in MEMORY_NAMES)))
            print("\n".join(lines), file=sys.stderr, flush=True)
    if len(peaks) > 1:
        (small, low), (large, high) = peaks[0], peaks[-1]
        lines.append(f"memory growth: {large / small:g}x the rows, {high / low:.2f}x the peak memory")
    print("\n".join(lines))


def _default_peer_python() -> str:
    local = HERE / ".venv" / "bin" / "python"
    return str(local) if local.exists() else sys.executable


if __name__ == "__main__":
    main()
