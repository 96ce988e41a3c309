"""Start-up: each command imports what it needs only (`snapcapi --help` neither the pipeline nor the
normalizers; `validate` nothing of sending, the worker pool nor the emulator). Nothing here is timed: the
modules a command loads are what decides its start-up time, and they are what is checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from snapcapi.cli.app import IDENTIFIER_FIELDS
from snapcapi.events.identifiers import IDENTIFIERS

# Runs the command line with the given arguments, then writes the names of the modules loaded to argv[1].
PROBE = """
import json, sys
out, sys.argv = sys.argv[1], ["snapcapi", *sys.argv[2:]]
from snapcapi.__main__ import run
try:
    run()
except SystemExit:
    pass
with open(out, "w") as file:
    json.dump(sorted(sys.modules), file)
"""


def modules_of(tmp_path: Path, *args: str) -> set[str]:
    """The modules a `snapcapi ARGS` process has loaded when it is done."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.exists(), done.stderr
    loaded: list[str] = json.loads(out.read_text())
    return set(loaded)


def test_help_loads_no_pipeline_normalizers_or_sending(tmp_path: Path) -> None:
    """`snapcapi --help` shows the commands without loading what running one needs."""
    loaded = modules_of(tmp_path, "--help")
    assert "snapcapi.cli.app" in loaded
    unwanted = {
        "snapcapi.run.pipeline", "snapcapi.events.build", "snapcapi.events.identifiers", "snapcapi.read.open",
        "phonenumbers", "httpx", "multiprocessing", "snapcapi.emulator",
    }  # fmt: skip
    assert loaded & unwanted == set()


def test_a_one_row_validate_loads_nothing_of_sending_nor_the_worker_pool(tmp_path: Path) -> None:
    """A validate of one row reads, builds and reports; it sends nothing, starts no worker process and
    shows no progress line (not a terminal), so it loads none of those."""
    rows = tmp_path / "one.csv"
    rows.write_text(
        "event_name,event_time,event_id,email\nSIGN_UP,now-1h,a1,a@example.com\n", encoding="utf-8"
    )
    loaded = modules_of(
        tmp_path, "validate", str(rows), "--pixel-id", "px", "--conversion-type", "OFFLINE", "--json", "-q"
    )
    assert "snapcapi.run.pipeline" in loaded  # it did run
    unwanted = {
        "httpx", "snapcapi.send.client", "snapcapi.send.delivery", "multiprocessing",
        "concurrent.futures.process", "snapcapi.emulator", "rich.progress", "snapcapi.outputs.progress",
    }  # fmt: skip
    assert loaded & unwanted == set()


def test_the_hash_commands_field_list_is_the_normalizers_own() -> None:
    """The help of `snapcapi hash` names the fields without importing the normalizers: the same list."""
    assert tuple(IDENTIFIERS) == IDENTIFIER_FIELDS
