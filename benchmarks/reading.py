"""The reading hot path alone: open an input with `open_source` and drain `Source.pieces`, as `run.chunks`
does, for a plain CSV, its gzip copy, the CSV as standard input, and a JSON Lines file.

    python benchmarks/reading.py --rows 1000000 --repeat 5 [--src DIR ...]

Each `--src` is a checkout of the project (the directory holding `snapcapi/`); the first is the baseline
the others are compared with (default: this checkout alone). Each run is a process of its own with that
checkout first on its path, and the checkouts take turns run by run, so that a noisy neighbour hurts them
alike. Prints, per input and checkout, the median wall and CPU seconds of opening and draining the file
(the interpreter's start-up is not counted), and the ratio of each median to the baseline's.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

# Run in a child process: open the input, drain its pieces the way run/chunks.py does, print the times.
CHILD = """
import json, sys, time
import snapcapi
from snapcapi.read.blocks import Block
from snapcapi.read.open import SourceSpec, open_source
path, stdin = sys.argv[1], sys.argv[2] == "stdin"
wall, cpu = time.perf_counter(), time.process_time()
spec = SourceSpec("-" if stdin else path)
with open(path, "rb") as raw, open_source(spec, raw if stdin else None) as source:
    records = 0
    for piece in source.pieces(1000, 1024 * 1024, None):
        records += piece.records if isinstance(piece, Block) else 1
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "records": records, "module": snapcapi.__file__}))
"""


def make_inputs(folder: Path, rows: int) -> dict[str, tuple[Path, str]]:
    """Write the inputs: {label: (path, "file" or "stdin")}."""
    csv_path = folder / "events.csv"
    generate(csv_path, rows, seed=7)
    gz_path = folder / "events.csv.gz"
    with csv_path.open("rb") as plain, gzip.open(gz_path, "wb", compresslevel=1) as packed:
        shutil.copyfileobj(plain, packed, 1024 * 1024)
    jsonl_path = folder / "events.jsonl"
    with csv_path.open(encoding="utf-8", newline="") as plain, jsonl_path.open("w", encoding="utf-8") as out:
        header = plain.readline().rstrip("\r\n").split(",")
        for line in plain:  # generate.py writes no quoted fields: a plain split is the CSV's reading
            out.write(json.dumps(dict(zip(header, line.rstrip("\r\n").split(","), strict=True))) + "\n")
    return {
        "csv": (csv_path, "file"),
        "csv.gz": (gz_path, "file"),
        "csv stdin": (csv_path, "stdin"),
        "jsonl": (jsonl_path, "file"),
    }


def run_once(src: Path, path: Path, how: str) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(  # noqa: S603 - our own interpreter on our own script
        [sys.executable, "-c", CHILD, str(path), how],
        cwd=src,  # `-c` puts the working directory first on the path
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    expected = str(src / "snapcapi" / "__init__.py")
    if result.pop("module") != expected:  # type: ignore[comparison-overlap]
        raise SystemExit(f"the child imported snapcapi from elsewhere than {src}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--src", type=Path, action="append", help="a checkout (first: the baseline)")
    parser.add_argument("--only", action="append", help="run only these inputs (csv, csv.gz, ...)")
    args = parser.parse_args()
    sources = [path.resolve() for path in (args.src or [HERE.parent])]
    with tempfile.TemporaryDirectory(prefix="reading-bench-") as folder:
        inputs = make_inputs(Path(folder), args.rows)
        if args.only:
            inputs = {label: inputs[label] for label in args.only}
        times: dict[tuple[str, Path], list[dict[str, float]]] = {}
        for _ in range(args.repeat):
            for label, (path, how) in inputs.items():
                for src in sources:
                    times.setdefault((label, src), []).append(run_once(src, path, how))
        print(f"{args.rows:,} rows, {args.repeat} runs each, medians (ratio to {sources[0]})")
        for label in inputs:
            base = times[(label, sources[0])]
            base_wall = statistics.median(t["wall"] for t in base)
            base_cpu = statistics.median(t["cpu"] for t in base)
            for src in sources:
                runs = times[(label, src)]
                if {t["records"] for t in runs} != {base[0]["records"]}:
                    raise SystemExit(f"{label}: {src} read another number of records than the baseline")
                wall = statistics.median(t["wall"] for t in runs)
                cpu = statistics.median(t["cpu"] for t in runs)
                print(
                    f"  {label:10} {src!s:28} wall {wall:6.3f} s ({wall / base_wall:5.3f})"
                    f"  cpu {cpu:6.3f} s ({cpu / base_cpu:5.3f})  records {runs[0]['records']:,.0f}"
                )


if __name__ == "__main__":
    main()
