"""`snapcapi validate` and `upload`, before and after a change: the same request bodies and the same reports.

    python benchmarks/same_bytes.py --before 4736d64 --after 6ad6340 --rows 1000000 --any-order

Extracts the commit `--before` (`git archive`) and runs its code and `--after`'s (default: this checkout
as it is), each as a process
of its own, on the bundled samples and on the benchmark's generated file, under one frozen clock (so that
`now-2h` and the generated times resolve alike), each upload against an emulator in this process that
records the SHA-256 of every request body. Per case it compares: the exit code, standard output (`--json`),
standard error (the human report), the `--report` and `--rejects` files, and the request bodies (as a
multiset: requests in flight complete in any order). The cases marked "library" run this checkout through
`snapcapi.upload` / `snapcapi.validate` instead of the command line, and are compared with the command line
of `--before` on everything but the printed output. `--any-order` takes report files holding the same
lines in another order as the same: before c690aa1, upload wrote its report in the order requests
completed, which differs from run to run. Prints one line per case; exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from generate import generate  # noqa: E402

from snapcapi.emulator import Emulator, EmulatorConfig  # noqa: E402

TOKEN = "same-bytes-token"

# Runs the command line with time.time frozen at argv[1]; the rest of argv are its arguments.
CLI = (
    "import sys, time\n"
    "frozen = float(sys.argv[1]); time.time = lambda: frozen\n"
    "sys.argv = ['snapcapi', *sys.argv[2:]]\n"
    "from snapcapi.__main__ import run\n"
    "run()\n"
)
# Runs snapcapi.<argv[2]>(argv[3], **json.loads(argv[4])) with time.time frozen at argv[1].
LIBRARY = (
    "import json, sys, time\n"
    "frozen = float(sys.argv[1]); time.time = lambda: frozen\n"
    "import snapcapi\n"
    "if __name__ == '__main__':\n"
    "    report = getattr(snapcapi, sys.argv[2])(sys.argv[3], **json.loads(sys.argv[4]))\n"
    "    print(report.rows)\n"
)


@dataclass
class Case:
    """One run: the command line's arguments, and the same as library keywords for "library" cases."""

    name: str
    command: str
    file: str
    args: list[str]
    upload: bool = False  # needs the emulator
    rejected: frozenset[str] = frozenset()  # event ids the emulator refuses
    outputs: tuple[str, ...] = ()  # names of the --report / --rejects files the run writes
    keywords: dict[str, Any] | None = None  # run through the library too, with these keywords


@dataclass
class Outcome:
    """What one run gave."""

    code: int
    stdout: str
    stderr: str
    files: dict[str, tuple[str, str]]  # name -> SHA-256 of the file, and of its lines sorted
    bodies: Counter[str] = field(default_factory=Counter)


def cases(samples: Path, bench: Path) -> list[Case]:
    """The runs compared: each sample through validate and upload, and the benchmark file."""
    send = ["--access-token", TOKEN, "--api-url", "{url}"]
    web, offline = str(samples / "web_events.csv"), str(samples / "offline_purchases.csv")
    app = str(samples / "app_events.jsonl")
    mobile = ["--conversion-type", "MOBILE_APP", "--snap-app-id", "snap-app", "--app-id", "123456789"]
    out = ["--report", "report.jsonl", "--rejects", "rejects.csv", "--json"]
    both = ("report.jsonl", "rejects.csv")
    offline_px = ["--conversion-type", "OFFLINE", "--pixel-id", "px"]
    quiet = ["--report", "report.jsonl", "--json", "-q"]
    keywords = {"conversion_type": "OFFLINE", "pixel_id": "px", "report": "report.jsonl"}
    return [
        Case("web validate", "validate", web, ["--pixel-id", "px", *out], outputs=both),
        Case("web validate, human report", "validate", web, ["--pixel-id", "px"]),
        Case("offline validate", "validate", offline, [*offline_px, *out], outputs=both),
        Case("app validate", "validate", app, [*mobile, "--report", "report.csv", "--rejects", "rej.jsonl"],
             outputs=("report.csv", "rej.jsonl")),
        Case("web upload", "upload", web, ["--pixel-id", "px", *send, *out], upload=True, outputs=both),
        Case("web upload, one event refused", "upload", web, ["--pixel-id", "px", *send, *out], upload=True,
             rejected=frozenset({"web-000104"}), outputs=both),
        Case("offline upload", "upload", offline, [*offline_px, *send, *out], upload=True, outputs=both,
             keywords={**keywords, "access_token": TOKEN, "rejects": "rejects.csv"}),
        Case("app upload", "upload", app, [*mobile, *send, "--report", "report.jsonl"], upload=True,
             outputs=("report.jsonl",)),
        Case("offline upload --sandbox", "upload", offline, [*offline_px[:2], "--sandbox", *out],
             outputs=both),
        Case("benchmark validate", "validate", str(bench), [*offline_px, *quiet], outputs=("report.jsonl",),
             keywords=keywords),
        Case("benchmark upload", "upload", str(bench), [*offline_px, *send, *quiet], upload=True,
             outputs=("report.jsonl",), keywords={**keywords, "access_token": TOKEN}),
    ]  # fmt: skip


def run(code: Path, case: Case, frozen: float, work: Path, *, library: bool = False) -> Outcome:
    """Run `case` with the snapcapi at `code` (a directory holding the `snapcapi` package)."""
    work.mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNAPCAPI_")}
    env |= {"PYTHONPATH": str(code), "COLUMNS": "120", "SNAPCAPI_STATE_DIR": str(work / "state")}
    config = EmulatorConfig(
        access_tokens=frozenset({TOKEN}),
        reject_event_ids=case.rejected,
        discard_events=True,
        clock=lambda: frozen,
    )
    with Emulator(config) as emulator:
        bodies: Counter[str] = Counter()
        lock = threading.Lock()
        answer = emulator.core.handle

        def recording(method: str, target: str, body: bytes, body_size: int | None = None) -> Any:
            if method == "POST":
                digest = hashlib.sha256(body).hexdigest()
                with lock:
                    bodies[digest] += 1
            return answer(method, target, body, body_size)

        emulator.core.handle = recording  # type: ignore[method-assign]
        if library:
            assert case.keywords is not None
            keywords = dict(case.keywords)
            if case.upload:
                keywords["api_url"] = emulator.url
            argv = ["-c", LIBRARY, str(frozen), case.command, case.file, json.dumps(keywords)]
        else:
            args = [a.replace("{url}", emulator.url) for a in case.args]
            argv = ["-c", CLI, str(frozen), case.command, case.file, *args]
        command = [sys.executable, *argv]
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=1800)  # noqa: S603
    files = {name: _digest(work / name) for name in case.outputs}
    return Outcome(done.returncode, done.stdout, done.stderr, files, bodies)


def _digest(path: Path) -> tuple[str, str]:
    if not path.exists():
        return "(missing)", "(missing)"
    data = path.read_bytes()
    lines = b"".join(sorted(data.splitlines(keepends=True)))
    return hashlib.sha256(data).hexdigest(), hashlib.sha256(lines).hexdigest()


def differences(
    before: Outcome, after: Outcome, *, printed: bool = True, any_order: bool = False
) -> list[str]:
    """What differs between two runs of one case (printed output too when `printed`; with `any_order`,
    report files that hold the same lines in another order are the same)."""
    found = []
    for name, (exact, lines) in before.files.items():
        other_exact, other_lines = after.files[name]
        if exact != other_exact and not (any_order and lines == other_lines):
            found.append(
                f"{name}: " + ("the same lines in another order" if lines == other_lines else "differs")
            )
    if before.bodies != after.bodies:
        found.append(f"request bodies: {sum(before.bodies.values())} vs {sum(after.bodies.values())}, differ")
    if printed:
        for what in ("code", "stdout", "stderr"):
            if getattr(before, what) != getattr(after, what):
                found.append(f"{what}: {getattr(before, what)!r} != {getattr(after, what)!r}")
    elif before.code not in (0, 1):
        found.append(f"before ended with exit {before.code}")
    return found


def _extract(commit: str, where: Path) -> Path:
    """Write the files of `commit` into the new directory `where`; return it."""
    where.mkdir()
    git = ["git", "-C", str(ROOT), "archive", commit]
    archive = subprocess.run(git, capture_output=True, check=True).stdout  # noqa: S603
    archive_path = where.with_suffix(".tar")
    archive_path.write_bytes(archive)
    with tarfile.open(archive_path) as tar:
        tar.extractall(where, filter="data")
    return where


def main() -> int:
    """Command line: compare every case; 1 if any differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--before", default="4736d64", help="the commit to compare with")
    parser.add_argument("--after", help="the commit to compare (default: this checkout as it is)")
    parser.add_argument(
        "--any-order",
        action="store_true",
        help="report files may list the same rows in another order (upload did, by completion, before"
        " c690aa1)",
    )
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the benchmark file")
    options = parser.parse_args()
    frozen = float(int(time.time()))
    failed = 0
    with tempfile.TemporaryDirectory(prefix="snapcapi-same-bytes-") as temp:
        tmp = Path(temp)
        old = _extract(options.before, tmp / "before")
        new = ROOT if options.after is None else _extract(options.after, tmp / "after")
        bench = generate(tmp / "bench.csv", options.rows, now=frozen)
        for number, case in enumerate(cases(ROOT / "samples", bench)):
            started = time.monotonic()
            before = run(old, case, frozen, tmp / f"{number}-before")
            after = run(new, case, frozen, tmp / f"{number}-after")
            found = differences(before, after, any_order=options.any_order)
            if case.keywords is not None:
                library = run(new, case, frozen, tmp / f"{number}-library", library=True)
                found += [
                    f"library: {d}"
                    for d in differences(before, library, printed=False, any_order=options.any_order)
                ]
            requests = sum(after.bodies.values())
            verdict = "same" if not found else "DIFFERENT"
            print(
                f"{verdict:9} {case.name}: exit {after.code}, {requests} request bodies, "
                f"{len(after.files)} files{', library too' if case.keywords else ''}"
                f" ({time.monotonic() - started:.0f} s)",
                flush=True,
            )
            for line in found:
                print("          " + line[:400], flush=True)
            failed += bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
