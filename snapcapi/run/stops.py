"""Why a run stopped before its end, put in its report: Snap refusing the credentials, an API URL that is
not Snap's, or an output or the ledger failing mid-run (a full disk), after which the run stops reading
and sending but still collects, counts and records the answers to the requests in flight."""

from __future__ import annotations

import threading
from collections.abc import Callable

from snapcapi.errors import EndpointError, LedgerError, OutputError, ResourceError, exhausted
from snapcapi.model import RunReport
from snapcapi.send.ledger import Ledger
from snapcapi.send.redact import redact


def settle_stop(report: RunReport, stopped_by: Exception | None) -> str:
    """Put why the sender stopped (if it did) in `report`; return the reason rows not sent are given."""
    if isinstance(stopped_by, EndpointError):
        report.endpoint_error = str(stopped_by)
    elif stopped_by is not None:
        report.auth_error = str(stopped_by)
    return report.auth_error or report.endpoint_error or report.output_error or "interrupted"


def output_failed(
    report: RunReport, stop: threading.Event, stop_sender: Callable[[str], None] | None, err: Exception
) -> None:
    """A report, rejects file or the ledger failed: say so in `report` (the first failure), stop reading
    (`stop`) and sending (`stop_sender`); what is in flight is still collected."""
    if report.output_error is None:
        report.output_error = str(err)
    stop.set()
    if stop_sender is not None:
        stop_sender(f"the run stopped: {err}")


def record_all(
    ledger: Ledger, sent: dict[str, list[str]], report: RunReport, failed: Callable[[Exception], None]
) -> None:
    """Record the deliveries `sent` (asset -> event ids); ids the ledger cannot take are counted in
    `report.unrecorded` and `failed` is told."""
    for asset, ids in sent.items():
        try:
            ledger.record(asset, ids)
        except LedgerError as err:
            report.unrecorded += len(ids)
            failed(err)


def local_failure(report: RunReport, err: Exception, secrets: tuple[str, ...] = ()) -> bool:
    """Put `err` in `report` when it is a failure on this machine's side that ends a run with what it
    counted: the ledger or an output (`output_error`), or a resource run out (`resource_error`). Return
    False for anything else (a bug, to be raised as it is)."""
    if isinstance(err, LedgerError | OutputError):
        report.output_error = report.output_error or redact(str(err), secrets)
        return True
    report.resource_error = exhausted(err)
    return report.resource_error is not None


def raise_local_failure(report: RunReport) -> None:
    """Raise the OutputError or ResourceError that stopped the run, if one did (for library callers)."""
    if report.output_error is not None:
        raise OutputError(report.output_error)
    if report.resource_error is not None:
        raise ResourceError(report.resource_error)
