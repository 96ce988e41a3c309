"""`snapcapi validate`'s rows per second, before and after a commit, on the benchmark file and on the same
file with a `state` column (a state, province or Land of each row's country, as names and codes).

    python benchmarks/places_speed.py --before 6ad6340 --rows 300000 --repeat 5

Extracts `--before` (`git archive`), generates the two files (`generate.py`), then runs `snapcapi validate`
of each checkout on each file, `--repeat` times, interleaved so that a noisy neighbour hurts both alike,
each run a process of its own. Prints each median and the ratio after / before, measured in the same run.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

# State names and codes as exports write them, by the country values generate.py writes.
STATES = {
    "us": ["California", "NY", "Texas", "new york", "FL", "Washington", "District of Columbia", "IL"],
    "ca": ["Québec", "Ontario", "BC", "Alberta", "QC", "Nova Scotia"],
    "de": ["Bayern", "Berlin", "NW", "Hessen", "Sachsen", "BW"],
    "gb": ["Scotland", "England", "Wales", "Kent", "London, City of"],
    "fr": ["Île-de-France", "Bretagne", "75", "Normandie"],
}
CLI = "import sys\nsys.argv = ['snapcapi', *sys.argv[1:]]\nfrom snapcapi.__main__ import run\nrun()\n"


def with_states(source: Path, target: Path, seed: int = 11) -> Path:
    """Copy the CSV `source` to `target` with a `state` column after `country`."""
    rng = random.Random(seed)
    with (
        source.open(newline="", encoding="utf-8") as inp,
        target.open("w", newline="", encoding="utf-8") as out,
    ):
        reader, writer = csv.reader(inp), csv.writer(out)
        header = next(reader)
        at = header.index("country")
        writer.writerow([*header[: at + 1], "state", *header[at + 1 :]])
        for row in reader:
            key = row[at].strip().lower()
            family = next((k for k in STATES if key.startswith(k) or key in _NAMES.get(k, ())), "us")
            writer.writerow([*row[: at + 1], rng.choice(STATES[family]), *row[at + 1 :]])
    return target


_NAMES = {
    "us": ("usa", "united states", "u.s.", "united states of america"),
    "ca": ("can", "canada"),
    "de": ("deu", "germany"),
    "gb": ("gbr", "uk", "united kingdom", "great britain"),
    "fr": ("fra", "france"),
}


def timed(code: Path, path: Path) -> float:
    """Rows per second of one `snapcapi validate` of `path` with the snapcapi at `code`."""
    argv = [sys.executable, "-c", CLI, "validate", str(path), "--pixel-id", "px"]
    argv += ["--conversion-type", "OFFLINE", "--json", "-q"]
    started = time.perf_counter()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCAPI_")} | {"PYTHONPATH": str(code)}
    done = subprocess.run(argv, env=env, capture_output=True, text=True)  # noqa: S603
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(done.stderr)
    rows = int(done.stdout.split('"rows": ', 1)[1].split(",", 1)[0])
    return rows / elapsed


def main() -> None:
    """Command line: print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--before", default="6ad6340")
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="snapcapi-places-speed-") as temp:
        tmp = Path(temp)
        old = tmp / "before"
        old.mkdir()
        git = ["git", "-C", str(ROOT), "archive", options.before]
        (tmp / "before.tar").write_bytes(subprocess.run(git, capture_output=True, check=True).stdout)  # noqa: S603
        with tarfile.open(tmp / "before.tar") as tar:
            tar.extractall(old, filter="data")
        plain = generate(tmp / "bench.csv", options.rows)
        files = {"benchmark file": plain, "with a state column": with_states(plain, tmp / "states.csv")}
        rates: dict[tuple[str, str], list[float]] = {}
        for _ in range(options.repeat):
            for label, path in files.items():
                for version, code in (("before", old), ("after", ROOT)):
                    rates.setdefault((label, version), []).append(timed(code, path))
        for label in files:
            before = statistics.median(rates[(label, "before")])
            after = statistics.median(rates[(label, "after")])
            print(
                f"{label}: before {before:,.0f} rows/s, after {after:,.0f} rows/s (medians of"
                f" {options.repeat}), after/before {after / before:.3f}"
            )


if __name__ == "__main__":
    main()
