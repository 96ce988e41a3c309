"""Outcomes handed on in input order, whatever order rows settle in.

Upload settles rows out of order: a refused row as it is read, a sent row when its request completes, and
requests in the order they complete. `InputOrder` keeps each row's place from the moment it is read and
hands rows on from the front only: a row waits while an earlier row is in flight, and no longer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from snapcapi.model import EncodedEvent, Row, RowOutcome
from snapcapi.read.open import Source


class _Place:
    """One row's place: its outcome once it has one, and what the sinks are given with it."""

    __slots__ = ("outcome", "row", "source")

    def __init__(self, outcome: RowOutcome | None, source: Source, row: Row | None) -> None:
        self.outcome = outcome
        self.source = source
        self.row = row


class InputOrder:
    """Outcomes in input order: each row takes its place when read, and rows are handed on from the front
    as soon as they, and every row before them, have their outcome."""

    def __init__(self, emit: Callable[[RowOutcome, Source, Row | None], None]) -> None:
        self._emit = emit
        self._places: deque[_Place] = deque()  # oldest first
        self._in_flight: dict[tuple[str, int], _Place] = {}

    def __len__(self) -> int:
        return len(self._places)

    def settled(self, outcome: RowOutcome, source: Source, row: Row | None) -> None:
        """A row settled as it is read: handed on at once unless an earlier row is in flight."""
        if self._places:
            self._places.append(_Place(outcome, source, row))
        else:
            self._emit(outcome, source, row)

    def sent(self, event: EncodedEvent, source: Source, row: Row | None) -> None:
        """A row whose event goes to delivery: its place is kept until `outcome` gives its outcome."""
        place = self._in_flight[(event.file, event.line)] = _Place(None, source, row)
        self._places.append(place)

    def outcome(self, outcome: RowOutcome) -> None:
        """The outcome of a row given to `sent`; hands on every row now settled at the front."""
        self._in_flight.pop((outcome.file, outcome.line)).outcome = outcome
        places, emit = self._places, self._emit
        while places:
            done = places[0].outcome
            if done is None:
                return
            place = places.popleft()
            emit(done, place.source, place.row)
