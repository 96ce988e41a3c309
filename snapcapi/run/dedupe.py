"""Duplicates inside one run: the first row with an (asset, event_id) wins, later ones are skipped.

The ids seen are kept in a private temporary SQLite database, not in a Python set, so that memory stays
flat however many rows a run reads (SQLite spills to a temporary file past its page cache).

A call's ids usually reach SQLite as one JSON array, which one INSERT reads (`sqlarray`). Each id stored
points at its place in its call; the call's line numbers are stored once with the call (its first line
when they follow each other, the usual case, else all of them as JSON), and read back only for a repeat.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from snapcapi.sqlarray import json_array

_CHUNK = 500  # ids looked up by one SELECT


class SeenIds:
    """Remembers the first (file, line) of every (asset, event_id) of a run."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)  # "" is a private temporary database
        # No rollback journal: nothing here is ever rolled back, and journaling copied every page a chunk
        # touched (a chunk of random ids, such as UUIDs, touches a page for nearly every id).
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        # key: the asset's number, ":" and the event id (asset ids are few, and a number followed by ":"
        # cannot run into the id). file: an index into self._files. call: the first_seen call that stored
        # the id, so that a call can tell the ids it added from those that were there before; item: the
        # id's place in that call, and so in its lines.
        self._db.execute(
            "CREATE TABLE seen (key TEXT PRIMARY KEY, file INTEGER, call INTEGER, item INTEGER) WITHOUT ROWID"
        )
        self._db.execute("CREATE TABLE calls (call INTEGER PRIMARY KEY, first INTEGER, lines TEXT)")
        self._files: list[str] = []
        self._file_ids: dict[str, int] = {}
        self._assets: dict[str, int] = {}
        self._calls = 0

    def first_seen(self, file: str, items: Sequence[tuple[str, str, int]]) -> list[tuple[str, int] | None]:
        """For each (asset, event_id, line) of `file`, in order, return where it was seen first, or None if
        new.

        The new ones are remembered, so a later call (or a later item of this call) sees them.
        """
        if not items:
            return []
        assets = self._assets
        for asset in {item[0] for item in items} - assets.keys():
            assets[asset] = len(assets)
        keys = [f"{assets[asset]}:{event_id}" for asset, event_id, _ in items]
        self._calls += 1
        call, file_id, db = self._calls, self._file_id(file), self._db
        db.execute("BEGIN")
        lines = [item[2] for item in items]
        first = lines[0]
        listed = None if lines == list(range(first, first + len(lines))) else json.dumps(lines)
        db.execute("INSERT INTO calls (call, first, lines) VALUES (?, ?, ?)", (call, first, listed))
        text = json_array(keys)  # None when an id holds a NUL: then they go one by one
        if text is not None and len(set(keys)) == len(keys):
            # The common case, all distinct: add them all; an id there before keeps its first place.
            before = db.total_changes
            db.execute(
                "INSERT OR IGNORE INTO seen (key, file, call, item)"
                " SELECT value, ?, ?, key FROM json_each(?)",
                (file_id, call, text),
            )
            db.execute("COMMIT")
            if db.total_changes - before == len(keys):
                return [None] * len(keys)
            earlier = self._stored(keys, unless_call=call)
            return [earlier.get(key) for key in keys]
        earlier = self._stored(list(dict.fromkeys(keys)))
        result: list[tuple[str, int] | None] = []
        new: list[tuple[str, int, int, int]] = []
        for index, (key, (_, _, line)) in enumerate(zip(keys, items, strict=True)):
            where = earlier.get(key)
            result.append(where)
            if where is None:
                earlier[key] = (file, line)
                new.append((key, file_id, call, index))
        db.executemany("INSERT INTO seen (key, file, call, item) VALUES (?, ?, ?, ?)", new)
        db.execute("COMMIT")
        return result

    def _stored(self, keys: list[str], unless_call: int | None = None) -> dict[str, tuple[str, int]]:
        """Return where each of `keys` (distinct) stored was first seen, leaving out those stored by call
        number `unless_call`."""
        found: dict[str, tuple[str, int]] = {}
        lines: dict[int, list[int] | int] = {}  # of the calls met, read once each: all, or the first
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, file, call, item FROM seen WHERE key IN ({marks})"  # noqa: S608
            for key, file, call, item in self._db.execute(query, chunk).fetchall():
                if call == unless_call:
                    continue
                if call not in lines:
                    query = "SELECT first, lines FROM calls WHERE call = ?"
                    first, listed = self._db.execute(query, (call,)).fetchone()
                    lines[call] = first if listed is None else json.loads(listed)
                known = lines[call]
                line = known + item if isinstance(known, int) else known[item]
                found[key] = (self._files[file], line)
        return found

    def _file_id(self, file: str) -> int:
        found = self._file_ids.get(file)
        if found is None:
            found = self._file_ids[file] = len(self._files)
            self._files.append(file)
        return found

    def close(self) -> None:
        """Drop the temporary database."""
        self._db.close()
