"""The typed values passed between the pipeline's stages.

readers -> Row -> mapping -> Record -> events.build -> Event | invalid RowOutcome
        -> EncodedEvent -> batching -> client -> RowOutcome -> report (RunReport)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from snapcapi.spec import ActionSource, EventName


@dataclass(frozen=True, slots=True)
class Row:
    """One record of an input file, as read.

    `data` maps the file's own column names (or JSON keys) to the values read: strings for CSV/TSV, JSON
    values for JSON Lines. `line` is the 1-based line where the record starts (a CSV header is line 1).
    `error` is set when the record itself could not be read (bad bytes, broken JSON); `data` is then empty.
    """

    file: str
    line: int
    data: dict[str, Any]
    error: str | None = None


# The column the rejects file adds to say why each row was refused (`snapcapi_error`, `snapcapi_error_2`...
# when the input has a column of that name). Uploading a rejects file again ignores it.
REJECTS_ERROR_COLUMN = "error"

# A pseudo field of a row's mapped values: the row is not an event (a Segment `identify` call), and the
# value says why. Such a row is not built; it ends `skipped`, with the reason as its warning.
NOT_AN_EVENT = "(not an event)"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a row: the canonical field it concerns (or "row") and a message.

    Messages never contain raw personal data: they name the field and the reason.
    """

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class Event:
    """A valid event, ready to send: its asset, stable id and v3 JSON body (`payload`).

    `events.Assembled` has the fields after `line`, in the same order (`build` makes an Event of one).
    """

    file: str
    line: int
    asset_id: str
    action_source: ActionSource
    event_name: EventName
    event_id: str
    event_time: int
    payload: dict[str, Any]
    warnings: tuple[Problem, ...] = ()


class EncodedEvent(NamedTuple):
    """A valid event as delivery takes it: where it came from, its asset and id, and its v3 JSON, encoded.

    `body` is the event's compact UTF-8 JSON (`wire.encode_json(event.payload)`), made once where the event
    was built and joined into request bodies as is; b"" in a run that sends nothing (validate). A
    NamedTuple rather than a dataclass: the pipeline makes one per row in its main process, and a tuple
    costs a third as much to make.
    """

    file: str
    line: int
    asset_id: str
    event_name: str
    event_id: str
    body: bytes
    warnings: tuple[Problem, ...] = ()


class Status(StrEnum):
    """The one status every input row ends in."""

    SENT = "sent"
    VALID = "valid"
    INVALID = "invalid"
    REJECTED = "rejected"
    FAILED = "failed"
    SKIPPED = "skipped"


class RowOutcome(NamedTuple):
    """What happened to one input row. A NamedTuple, like `EncodedEvent`: an upload makes one per row."""

    file: str
    line: int
    status: Status
    event_name: str | None = None
    event_id: str | None = None
    errors: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    asset_id: str | None = None


FAILURE_SAMPLE = 20  # failed rows a report lists; the rest are counted


def outcome_of(
    event: EncodedEvent, status: Status, errors: tuple[Problem, ...] = (), warnings: tuple[Problem, ...] = ()
) -> RowOutcome:
    """Return the outcome `status` of a valid event's row, with the event's warnings and these."""
    return RowOutcome(
        event.file,
        event.line,
        status,
        event.event_name,
        event.event_id,
        errors,
        event.warnings + warnings,
        event.asset_id,
    )


@dataclass(slots=True)
class Quality:
    """Data-quality counts of a run, over the rows that could be read."""

    identifiers: dict[str, int] = field(default_factory=dict)  # v3 user_data key -> rows that have it
    matchable: int = 0
    stale: int = 0  # events older than the 7-day attribution window
    duplicates: int = 0  # rows whose event_id repeats an earlier row's
    # rows with a phone number without country code, read in --default-region (the row had no country)
    default_region_phones: int = 0
    # Rows that are no event (a line item folded into its order, a cancelled order, a totals row), by
    # reason: the text of the reason before its first colon.
    not_events: dict[str, int] = field(default_factory=dict)
    unused_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # file -> columns


@dataclass(slots=True)
class RunReport:
    """Counts of a whole run, kept as outcomes stream past (the outcomes themselves are not kept)."""

    rows: int = 0
    by_status: dict[Status, int] = field(default_factory=lambda: dict.fromkeys(Status, 0))
    by_event: dict[str, dict[Status, int]] = field(default_factory=dict)
    failures: list[RowOutcome] = field(default_factory=list)  # the first FAILURE_SAMPLE not sent/valid
    quality: Quality = field(default_factory=Quality)
    interrupted: bool = False
    auth_error: str | None = None  # why Snap refused the credentials, when it did
    endpoint_error: str | None = None  # why the API URL's answers are not Snap's, when they are not
    output_error: str | None = None  # why a report, rejects file or the ledger failed mid-run, when one did
    resource_error: str | None = None  # what this machine ran out of (disk, memory, files), when it did
    ledger_path: str | None = None  # the delivery ledger the run used, if one
    ledger_new: bool = False  # it held no earlier delivery: missing, empty, or a damaged one set aside
    ledger_set_aside: str | None = None  # where a damaged ledger was moved (--resend), when one was
    unrecorded: int = 0  # rows sent whose delivery the ledger could not record (a later run resends them)
    budget_stop: str | None = None  # why --max-invalid stopped the run, when it did
    warnings: list[str] = field(default_factory=list)  # about the whole run (validate without a Pixel ID)
    requests: int = 0

    @property
    def stop_error(self) -> str | None:
        """Why the run stopped part-way on this machine's side (exit 5): a report, rejects file or the
        ledger could not be written, or a resource ran out; None when it did not."""
        return self.output_error or self.resource_error

    def add(self, outcome: RowOutcome) -> None:
        """Count one row's outcome."""
        self.count_rows(outcome.status, outcome.event_name)
        if outcome.status in PROBLEM_STATUSES and len(self.failures) < FAILURE_SAMPLE:
            self.failures.append(outcome)

    def count_rows(self, status: Status, event_name: str | None, rows: int = 1) -> None:
        """Count `rows` rows of `event_name` that ended in `status` (not a problem status: those are added
        with `add`, which keeps a sample of them)."""
        self.rows += rows
        self.by_status[status] += rows
        name = event_name or "(unknown)"
        per_event = self.by_event.get(name)
        if per_event is None:
            per_event = self.by_event[name] = dict.fromkeys(Status, 0)
        per_event[status] += rows

    def count(self, status: Status | str) -> int:
        """Return how many rows ended in `status`: a `Status`, or its name ("sent", "invalid"...).

        Raises ValueError for a name that is not a status."""
        return self.by_status[Status(status)]


PROBLEM_STATUSES = frozenset({Status.INVALID, Status.REJECTED, Status.FAILED})
