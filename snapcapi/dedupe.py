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
        self._db.execute("PRAGMA journal_mode=MEMORY")  # ROLLBACK needs a journal
        self._db.execute("PRAGMA synchronous=OFF")
        # file: an index into self._files, not the name again on every row
        self._db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, file INTEGER, line INTEGER) WITHOUT ROWID")
        self._files: list[str] = []
        self._file_ids: dict[str, int] = {}

    def first_seen(self, items: Sequence[tuple[str, str, str, int]]) -> list[tuple[str, int] | None]:
        """For each (asset, event_id, file, line), in order, return where it was seen first, or None if new.

        The new ones are remembered, so a later call (or a later item of this call) sees them.
        """
        keys = [f"{asset}\x00{event_id}" for asset, event_id, _, _ in items]
        if len(set(keys)) == len(keys) and self._all_new(keys, items):
            return [None] * len(keys)
        earlier: dict[str, tuple[str, int]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, file, line FROM seen WHERE key IN ({marks})"  # noqa: S608
            for key, file, line in self._db.execute(query, chunk):
                earlier[key] = (self._files[file], line)
        result: list[tuple[str, int] | None] = []
        new: list[tuple[str, int, int]] = []
        for key, (_, _, file, line) in zip(keys, items, strict=True):
            where = earlier.get(key)
            result.append(where)
            if where is None:
                earlier[key] = (file, line)
                new.append((key, self._file_id(file), line))
        if new:
            self._db.executemany("INSERT INTO seen (key, file, line) VALUES (?, ?, ?)", new)
        return result

    def _all_new(self, keys: list[str], items: Sequence[tuple[str, str, str, int]]) -> bool:
        """Remember `keys` (distinct) and return True if none was seen before; else change nothing and
        return False. The common case, all new, costs one insert a key and no lookup."""
        rows = [(key, self._file_id(file), line) for key, (_, _, file, line) in zip(keys, items, strict=True)]
        self._db.execute("BEGIN")
        before = self._db.total_changes
        self._db.executemany("INSERT OR IGNORE INTO seen (key, file, line) VALUES (?, ?, ?)", rows)
        if self._db.total_changes - before == len(rows):
            self._db.execute("COMMIT")
            return True
        self._db.execute("ROLLBACK")
        return False

    def _file_id(self, file: str) -> int:
        found = self._file_ids.get(file)
        if found is None:
            found = self._file_ids[file] = len(self._files)
            self._files.append(file)
        return found

    def close(self) -> None:
        """Drop the temporary database."""
        self._db.close()
