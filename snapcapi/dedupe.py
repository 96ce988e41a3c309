"""Duplicates inside one run: the first row with an (asset, event_id) wins, later ones are skipped.

The ids seen are kept in a private temporary SQLite database, not in a Python set, so that memory stays
flat however many rows a run reads (SQLite spills to a temporary file past its page cache).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

_CHUNK = 500


class SeenIds:
    """Remembers the first (file, line) of every (asset, event_id) of a run."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)  # "" is a private temporary database
        # No rollback journal: nothing here is ever rolled back, and journaling copied every page a chunk
        # touched (a chunk of random ids, such as UUIDs, touches a page for nearly every id).
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        # file: an index into self._files, not the name again on every row. call: which first_seen call
        # stored the row, so that a call can tell the ids it added from those that were there before.
        self._db.execute(
            "CREATE TABLE seen (key TEXT PRIMARY KEY, file INTEGER, line INTEGER, call INTEGER) WITHOUT ROWID"
        )
        self._files: list[str] = []
        self._file_ids: dict[str, int] = {}
        self._calls = 0

    def first_seen(self, items: Sequence[tuple[str, str, str, int]]) -> list[tuple[str, int] | None]:
        """For each (asset, event_id, file, line), in order, return where it was seen first, or None if new.

        The new ones are remembered, so a later call (or a later item of this call) sees them.
        """
        keys = [f"{asset}\x00{event_id}" for asset, event_id, _, _ in items]
        self._calls += 1
        if len(set(keys)) == len(keys):
            # The common case, all distinct: add them all; an id there before keeps its first place.
            call = self._calls
            rows = [
                (key, self._file_id(file), line, call)
                for key, (_, _, file, line) in zip(keys, items, strict=True)
            ]
            before = self._db.total_changes
            self._insert("INSERT OR IGNORE", rows)
            if self._db.total_changes - before == len(rows):
                return [None] * len(keys)
            earlier = self._stored(keys, unless_call=call)
            return [earlier.get(key) for key in keys]
        earlier = self._stored(list(dict.fromkeys(keys)))
        result: list[tuple[str, int] | None] = []
        new: list[tuple[str, int, int, int]] = []
        for key, (_, _, file, line) in zip(keys, items, strict=True):
            where = earlier.get(key)
            result.append(where)
            if where is None:
                earlier[key] = (file, line)
                new.append((key, self._file_id(file), line, self._calls))
        self._insert("INSERT", new)
        return result

    def _insert(self, verb: str, rows: list[tuple[str, int, int, int]]) -> None:
        self._db.execute("BEGIN")
        self._db.executemany(f"{verb} INTO seen (key, file, line, call) VALUES (?, ?, ?, ?)", rows)
        self._db.execute("COMMIT")

    def _stored(self, keys: list[str], unless_call: int | None = None) -> dict[str, tuple[str, int]]:
        """Return where each of `keys` (distinct) stored was first seen, leaving out those stored by call
        number `unless_call`."""
        found: dict[str, tuple[str, int]] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, file, line, call FROM seen WHERE key IN ({marks})"  # noqa: S608
            for key, file, line, call in self._db.execute(query, chunk):
                if call != unless_call:
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
