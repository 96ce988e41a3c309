"""What the emulator remembers: the events it kept, its counts, and recent validate calls.

Every arrival is kept, duplicates included, so a test can count what a retry sent twice; the count of
distinct (asset, event_id) pairs says what Snap would have after deduplication. One lock guards it all.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter, deque
from typing import Any, Final

VALIDATE_LOG_SIZE: Final = 100  # validate calls kept per asset for `/validate/logs`


class EmulatorStore:
    """The emulator's memory; thread-safe. Records are never changed once stored."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clear()

    def _clear(self) -> None:
        self._requests = 0
        self._dropped = 0
        self._largest_batch = 0
        self._by_status: Counter[int] = Counter()
        self._by_asset: Counter[str] = Counter()
        self._kept: list[dict[str, Any]] = []
        self._event_ids: set[tuple[str, str]] = set()
        self._without_id = 0
        self._discarded = 0
        self._validate_logs: dict[str, deque[dict[str, Any]]] = {}
        self._validate_counts: dict[str, Counter[str]] = {}

    def reset(self) -> None:
        """Forget every event, count and validate log."""
        with self._lock:
            self._clear()

    # -- recording -------------------------------------------------------------------------------------

    def begin_request(self) -> int:
        """Count one request (inspection requests are not counted); return its 1-based number."""
        with self._lock:
            self._requests += 1
            return self._requests

    def end_request(self, status: int | None) -> None:
        """Count the answer to a request: its HTTP status, or None when the connection was dropped."""
        with self._lock:
            if status is None:
                self._dropped += 1
            else:
                self._by_status[status] += 1

    def count_asset(self, asset_id: str) -> None:
        """Count one request addressed to `asset_id`."""
        with self._lock:
            self._by_asset[asset_id] += 1

    def note_batch(self, size: int) -> None:
        """Remember the size of a batch received by the events endpoint, for `largest_batch`."""
        with self._lock:
            self._largest_batch = max(self._largest_batch, size)

    def keep(
        self, asset_id: str, data: list[dict[str, Any]], test_event_code: str | None, request: int
    ) -> None:
        """Keep every event of an accepted request."""
        records = [
            {
                "asset_id": asset_id,
                "request": request,
                "index": index,
                "test_event_code": test_event_code,
                "event": event,
            }
            for index, event in enumerate(data)
        ]
        ids = [str(event["event_id"]) for event in data if event.get("event_id")]
        with self._lock:
            self._kept.extend(records)
            self._event_ids.update((asset_id, event_id) for event_id in ids)
            self._without_id += len(data) - len(ids)

    def discard(self, events: int) -> None:
        """Count the events of an accepted request without keeping them (`--discard-events`)."""
        with self._lock:
            self._discarded += events

    def log_validate(self, asset_id: str, entry: dict[str, Any], events: int, invalid: int) -> None:
        """Remember one validate call (`entry` is what `/validate/logs` lists) and add to its counts."""
        with self._lock:
            self._validate_logs.setdefault(asset_id, deque(maxlen=VALIDATE_LOG_SIZE)).append(entry)
            counts = self._validate_counts.setdefault(asset_id, Counter())
            counts.update(requests=1, events=events, valid=events - invalid, invalid=invalid)

    # -- reading ---------------------------------------------------------------------------------------

    def validate_logs(self, asset_id: str) -> list[dict[str, Any]]:
        """Return the recent validate calls for `asset_id`, oldest first (shared records: do not change)."""
        with self._lock:
            return list(self._validate_logs.get(asset_id, ()))

    def validate_counts(self, asset_id: str) -> dict[str, int]:
        """Return `requests`, `events`, `valid` and `invalid` counts of validate calls for `asset_id`."""
        with self._lock:
            counts = self._validate_counts.get(asset_id, Counter())
            return {key: counts[key] for key in ("requests", "events", "valid", "invalid")}

    def kept(self, asset_id: str | None = None) -> list[dict[str, Any]]:
        """Return the kept records, optionally of one asset (shared records: do not change them)."""
        with self._lock:
            return [item for item in self._kept if asset_id is None or item["asset_id"] == asset_id]

    def events(self, asset_id: str | None = None) -> list[dict[str, Any]]:
        """Return a copy of every event kept, in arrival order, optionally of one asset only.

        Each item is `{"asset_id", "request", "index", "test_event_code", "event"}`: `request` is the
        1-based number of the request that carried it, `index` its place in that request's `data`.
        """
        return copy.deepcopy(self.kept(asset_id))

    def stats(self) -> dict[str, Any]:
        """Return counts since start or reset, as JSON-ready values.

        Keys: `requests` (all but inspection), `by_status` (status code as a string -> answers),
        `dropped`, `events_kept` (every arrival, duplicates included), `distinct_events` (distinct asset
        and event_id; an event without an id counts alone), `events_discarded` (taken but not kept, with
        `--discard-events`), `requests_by_asset`, `largest_batch` (most events in one well-formed request
        to the events endpoint).
        """
        with self._lock:
            return {
                "requests": self._requests,
                "by_status": {str(code): n for code, n in sorted(self._by_status.items())},
                "dropped": self._dropped,
                "events_kept": len(self._kept),
                "distinct_events": len(self._event_ids) + self._without_id,
                "events_discarded": self._discarded,
                "requests_by_asset": dict(self._by_asset),
                "largest_batch": self._largest_batch,
            }
