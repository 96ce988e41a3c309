"""Which rows of a chunk to skip rather than send: repeats of an earlier row's event id in this run, and
events the ledger says an earlier run delivered."""

from __future__ import annotations

from snapcapi.model import EncodedEvent, Problem, Quality, RowOutcome, Status, outcome_of
from snapcapi.run.dedupe import SeenIds
from snapcapi.send.ledger import Ledger


class Repeats:
    """Finds the rows of each chunk to skip; counts the duplicates in `quality`."""

    def __init__(self, seen: SeenIds | None, ledger: Ledger | None, resend: bool, quality: Quality) -> None:
        """`seen`: this run's ids (None: a run not started, which skips nothing); `ledger`: the deliveries
        of earlier runs, unless `resend`."""
        self._seen = seen
        self._ledger = None if resend else ledger
        self._quality = quality
        # Whether the ledger held any delivery for an asset when the run first met it. When it held none,
        # nothing is looked up for that asset: the ledger is this run's alone (locked), and an id the run
        # records meanwhile was seen by dedupe first, so a repeat is skipped before the ledger is asked.
        self._holds: dict[str, bool] = {}

    def skipped(self, file: str, events: list[tuple[int, EncodedEvent]]) -> dict[int, RowOutcome]:
        """Return the SKIPPED outcomes of a chunk's events (read from `file`), by their place in it."""
        if self._seen is None:
            return {}
        earlier = self._seen.first_seen(file, [(e.asset_id, e.event_id, e.line) for _, e in events])
        delivered = self._delivered([e for _, e in events])
        skipped: dict[int, RowOutcome] = {}
        if delivered or any(earlier):
            for (index, event), where in zip(events, earlier, strict=True):
                if where is not None:
                    self._quality.duplicates += 1
                    reason = f"duplicate of {where[0]} line {where[1]} (same event_id)"
                elif (event.asset_id, event.event_id) in delivered:
                    reason = "already delivered by an earlier run (the ledger); --resend sends it again"
                else:
                    continue
                skipped[index] = outcome_of(event, Status.SKIPPED, warnings=(Problem("event_id", reason),))
        return skipped

    def _delivered(self, events: list[EncodedEvent]) -> set[tuple[str, str]]:
        ledger = self._ledger
        if ledger is None or not events:
            return set()
        by_asset: dict[str, list[str]] = {}
        for event in events:
            by_asset.setdefault(event.asset_id, []).append(event.event_id)
        holds = self._holds
        for asset in list(by_asset):
            if asset not in holds:
                holds[asset] = ledger.holds(asset)
            if not holds[asset]:
                del by_asset[asset]
        return {
            (asset, event_id) for asset, ids in by_asset.items() for event_id in ledger.delivered(asset, ids)
        }
