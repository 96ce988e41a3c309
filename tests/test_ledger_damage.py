"""A damaged ledger is not trusted, a new one is said to be new, and a closed ledger is whole without its WAL.

Damage is made on a copy of a real ledger: 2,000 zeroed bytes (what the fault-injection trial did), or a
file that is not a database at all.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from snapcapi.emulator import Emulator
from snapcapi.errors import LedgerError
from snapcapi.send.ledger import LEDGER_FILE, Ledger
from tests.conftest import HEADER, TOKEN, Invoke, crashed, purchase, write_csv


def real_ledger(state: Path, ids: int = 30_000) -> Path:
    """A ledger of `ids` deliveries in requests of 2,000, closed as a run closes it; return its path."""
    with Ledger.open(state) as ledger:
        for start in range(0, ids, 2000):
            ledger.record("px-1", [f"ord-{i}" for i in range(start, min(start + 2000, ids))])
    return state / LEDGER_FILE


def damaged_copy(source: Path, state: Path) -> Path:
    """A copy of the ledger `source` in `state`, with 2,000 bytes zeroed in its middle."""
    state.mkdir(parents=True)
    copy = state / LEDGER_FILE
    shutil.copyfile(source, copy)
    data = bytearray(copy.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2000] = bytes(2000)
    copy.write_bytes(bytes(data))
    return copy


def test_a_damaged_copy_of_a_real_ledger_is_refused_with_the_way_out(tmp_path: Path) -> None:
    """The check on opening finds the damage: LedgerError naming the file, restore or --resend."""
    source = real_ledger(tmp_path / "good")
    damaged_copy(source, tmp_path / "bad")
    with pytest.raises(LedgerError) as caught:
        Ledger.open(tmp_path / "bad")
    message = str(caught.value)
    assert f"the delivery ledger {tmp_path / 'bad' / LEDGER_FILE} is damaged" in message
    assert "Restore it" in message
    assert "--resend" in message
    with Ledger.open(tmp_path / "good") as ledger:  # the original, undamaged, opens as before
        assert ledger.count() == 30_000
        assert not ledger.new


def test_what_the_check_found_is_said_on_one_line(tmp_path: Path) -> None:
    """SQLite's check reports damage inside the pages as several lines ("*** in database main ***", then
    one a page): the error is still one line, as every error is, with what was found."""
    source = real_ledger(tmp_path / "good")
    (tmp_path / "bad").mkdir()
    copy = tmp_path / "bad" / LEDGER_FILE
    data = bytearray(source.read_bytes())
    data[82_020 : 82_020 + 2000] = bytes(2000)  # inside a page's cells, not at its start
    copy.write_bytes(bytes(data))
    with pytest.raises(LedgerError) as caught:
        Ledger.open(tmp_path / "bad")
    message = str(caught.value)
    assert "\n" not in message
    assert "is damaged (*** in database main ***; " in message
    assert "Restore it" in message


def test_a_file_that_is_not_a_database_is_damaged_too(tmp_path: Path) -> None:
    """A ledger overwritten with other bytes (a bad restore) is refused the same way."""
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / LEDGER_FILE).write_bytes(b"this is not an SQLite database\n" * 200)
    with pytest.raises(LedgerError, match="is damaged"):
        Ledger.open(tmp_path / "state")


def test_set_aside_keeps_the_damaged_file_and_starts_a_new_ledger(tmp_path: Path) -> None:
    """With set_aside_damaged (--resend), the damaged file is renamed, not deleted, and a new one begins."""
    source = real_ledger(tmp_path / "good")
    damaged = damaged_copy(source, tmp_path / "bad")
    before = damaged.read_bytes()
    with Ledger.open(tmp_path / "bad", set_aside_damaged=True) as ledger:
        assert ledger.new
        assert ledger.set_aside is not None
        assert ledger.set_aside.name.startswith(f"{LEDGER_FILE}.damaged-")
        assert ledger.set_aside.read_bytes() == before
        assert ledger.count() == 0


@pytest.mark.parametrize("how", ["missing", "empty"])
def test_a_new_ledger_knows_it_is_new(tmp_path: Path, how: str) -> None:
    """Missing or empty (0 bytes): new; once it holds a delivery and is opened again: not new."""
    state = tmp_path / "state"
    if how == "empty":
        state.mkdir()
        (state / LEDGER_FILE).write_bytes(b"")
    with Ledger.open(state) as ledger:
        assert ledger.new
        ledger.record("px-1", ["a"])
    with Ledger.open(state) as ledger:
        assert not ledger.new


def test_a_closed_ledger_is_whole_without_its_wal(tmp_path: Path) -> None:
    """Closing checkpoints the WAL into the database: deleting the -wal file afterwards loses nothing."""
    path = real_ledger(tmp_path / "state", ids=10_000)
    wal = Path(f"{path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    wal.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT count(*) FROM delivered").fetchone()[0] == 10_000
    finally:
        db.close()


def _upload(invoke: Invoke, api: Emulator, path: Path, *args: str) -> tuple[int, str, str]:
    result = invoke(
        "upload", str(path), "--api-url", api.url, "--pixel-id", "px-1", "--conversion-type", "OFFLINE",
        "--access-token", TOKEN, "--no-progress", "--json", *args,
    )  # fmt: skip
    assert crashed(result) is None, result.exception
    return result.exit_code, result.stdout, result.stderr


def test_the_command_line_stops_on_damage_and_resend_sets_it_aside(
    invoke: Invoke, api: Emulator, tmp_path: Path
) -> None:
    """Upload with a damaged ledger: exit 2, nothing sent, the way out said. With --resend: the damaged
    file set aside, said in the first line and in --json, every row sent."""
    state = tmp_path / "state"  # the invoke fixture's SNAPCAPI_STATE_DIR
    damaged_copy(real_ledger(tmp_path / "good"), state)
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(20)])
    code, stdout, stderr = _upload(invoke, api, path)
    assert code == 2, stderr
    assert "is damaged" in stderr
    assert "--resend" in stderr
    assert api.stats()["events_kept"] == 0
    code, stdout, stderr = _upload(invoke, api, path, "--resend")
    assert code == 0, stderr
    assert stderr.lstrip().startswith("the delivery ledger was damaged: set aside as")
    summary = json.loads(stdout)
    assert summary["sent"] == 20
    assert summary["ledger"]["new"] is True
    assert Path(summary["ledger"]["set_aside"]).exists()
    assert api.stats()["events_kept"] == 20


def test_the_first_line_says_when_the_ledger_is_new(invoke: Invoke, api: Emulator, tmp_path: Path) -> None:
    """A first run says the ledger is new (nothing can be skipped); the second says nothing of it."""
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(5)])
    code, stdout, stderr = _upload(invoke, api, path)
    assert code == 0, stderr
    assert stderr.lstrip().startswith("a new delivery ledger, ")
    assert json.loads(stdout)["ledger"]["new"] is True
    code, stdout, stderr = _upload(invoke, api, path)
    assert code == 0, stderr
    assert "new delivery ledger" not in stderr
    assert json.loads(stdout)["ledger"] == {
        "path": str(tmp_path / "state" / LEDGER_FILE),
        "new": False,
        "set_aside": None,
    }
