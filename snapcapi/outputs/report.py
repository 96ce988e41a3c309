"""Reports: the human summary (rich, on stderr) and the `--json` summary (the `--report` file: `reportfile`).

Nothing here shows personal data: outcomes carry field names and reasons, never the values.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from snapcapi.model import RowOutcome, RunReport, Status

UPLOAD_STATUSES = (Status.SENT, Status.INVALID, Status.REJECTED, Status.FAILED, Status.SKIPPED)
VALIDATE_STATUSES = (Status.VALID, Status.INVALID, Status.REJECTED, Status.SKIPPED)

# v3 user_data keys as people call them, in the order the quality table lists them.
IDENTIFIER_LABELS = {
    "em": "email",
    "ph": "phone",
    "madid": "mobile ad id",
    "client_ip_address": "IP address",
    "client_user_agent": "user agent",
    "fn": "first name",
    "ln": "last name",
    "ge": "gender",
    "db": "date of birth",
    "ct": "city",
    "st": "state",
    "zp": "zip",
    "country": "country",
    "external_id": "external id",
    "sc_click_id": "click id",
    "sc_cookie1": "_scid cookie",
    "idfv": "IDFV",
}


def summary(report: RunReport, *, validate: bool, exit_code: int) -> dict[str, Any]:
    """Return the `--json` summary of a run."""
    statuses = VALIDATE_STATUSES if validate else UPLOAD_STATUSES
    out: dict[str, Any] = {"rows": report.rows}
    out.update({status.value: report.count(status) for status in statuses})
    out["exit_code"] = exit_code
    out["by_event_name"] = {
        name: {s.value: n for s, n in counts.items() if n} for name, counts in sorted(report.by_event.items())
    }
    quality = report.quality
    out["quality"] = {
        "identifiers": {IDENTIFIER_LABELS.get(k, k): n for k, n in _ordered(quality.identifiers)},
        "matchable": quality.matchable,
        "stale_events": quality.stale,
        "duplicate_event_ids": quality.duplicates,
        "phones_in_default_region": quality.default_region_phones,
        "skipped_not_events": dict(sorted(quality.not_events.items())),
        "unused_columns": {f: list(c) for f, c in quality.unused_columns.items()},
    }
    if not validate:
        out["requests"] = report.requests
    if report.ledger_path is not None:
        out["ledger"] = {
            "path": report.ledger_path,
            "new": report.ledger_new,
            "set_aside": report.ledger_set_aside,
        }
    for key in (
        "interrupted",
        "auth_error",
        "endpoint_error",
        "output_error",
        "resource_error",
        "unrecorded",
        "budget_stop",
        "warnings",
    ):
        value = getattr(report, key)
        if value:
            out[key] = value
    return out


def _ordered(identifiers: dict[str, int]) -> Iterator[tuple[str, int]]:
    for key in IDENTIFIER_LABELS:
        if key in identifiers:
            yield key, identifiers[key]


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def render(report: RunReport, console: Console, *, validate: bool, title: str) -> None:
    """Print the human report: counts by status and event name, problem rows, data quality."""
    statuses = VALIDATE_STATUSES if validate else UPLOAD_STATUSES
    console.print()
    totals = Table(title=title, title_justify="left", show_edge=False)
    totals.add_column("event name")
    for status in statuses:
        totals.add_column(status.value, justify="right")
    for name, counts in sorted(report.by_event.items()):
        totals.add_row(name, *(str(counts[s]) for s in statuses))
    totals.add_section()
    totals.add_row("[b]all rows[/b] " + str(report.rows), *(f"[b]{report.count(s)}[/b]" for s in statuses))
    console.print(totals)

    problems = sum(report.count(s) for s in (Status.INVALID, Status.REJECTED, Status.FAILED))
    if problems:
        shown = len(report.failures)
        # One table a file, the file named once in its title: at 80 columns a file column would leave the
        # reasons a few words a line, and break long names mid-word.
        by_file: dict[str, list[RowOutcome]] = {}
        for outcome in report.failures:
            by_file.setdefault(outcome.file, []).append(outcome)
        for number, (file, outcomes) in enumerate(by_file.items()):
            title = f"Rows not {'valid' if validate else 'sent'} in {escape(Path(file).name)}"
            if number == 0 and problems > shown:
                title += f" (the first {shown} of {problems})"
            console.print()
            console.print(_failures_table(title, outcomes))
        if problems > shown:
            console.print(f"... and {problems - shown} more (--report PATH lists every row)")

    quality = report.quality
    readable = report.rows
    if readable:
        table = Table(title="Data quality", title_justify="left", show_edge=False)
        table.add_column("rows with")
        table.add_column("rows", justify="right")
        table.add_column("share", justify="right")
        for key, count in _ordered(quality.identifiers):
            table.add_row(IDENTIFIER_LABELS[key], str(count), _share(count, readable))
        table.add_section()
        table.add_row("matchable and valid", str(quality.matchable), _share(quality.matchable, readable))
        table.add_row("older than 7 days", str(quality.stale), _share(quality.stale, readable))
        table.add_row("duplicate event ids", str(quality.duplicates), _share(quality.duplicates, readable))
        if quality.default_region_phones:
            # National numbers of rows without a country: right only if those customers live there.
            phones = quality.default_region_phones
            table.add_row("phone read in default region", str(phones), _share(phones, readable))
        for reason, count in sorted(quality.not_events.items()):
            table.add_row(f"skipped: {escape(reason)}", str(count), _share(count, readable))
        console.print()
        console.print(table)
        for name, columns in quality.unused_columns.items():
            console.print(f"[dim]{escape(name)}: columns not used: {escape(', '.join(columns))}[/dim]")
    for warning in report.warnings:
        console.print(f"[yellow]warning: {escape(warning)}[/yellow]")
    for note in (
        report.budget_stop,
        report.auth_error and f"stopped: {report.auth_error}",
        report.endpoint_error and f"stopped: {report.endpoint_error}",
        report.output_error and f"stopped: {report.output_error}",
        report.resource_error and f"stopped: {report.resource_error}",
        report.unrecorded
        and f"{report.unrecorded} rows were sent but could not be recorded in the ledger: a later run sends"
        " them again (harmless: Snap keeps one event per event_id)",
    ):
        if note:
            console.print(f"[red]{escape(note)}[/red]")
    if report.interrupted:
        console.print(
            "[yellow]interrupted: what was delivered is recorded; run again to send the rest[/yellow]"
        )
    console.print(verdict(report, validate=validate))


def _failures_table(title: str, outcomes: list[RowOutcome]) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False)
    table.add_column("line", justify="right")
    table.add_column("status")
    table.add_column("field")
    table.add_column("reason", overflow="fold", ratio=1)
    for outcome in outcomes:
        for number, problem in enumerate(outcome.errors):  # the row's line once, above its problems
            line = "" if number else str(outcome.line)
            table.add_row(line, outcome.status.value, problem.field, escape(problem.message))
        for problem in outcome.warnings:  # a dropped identifier often explains the error above it
            table.add_row("", "[dim]warning[/dim]", problem.field, f"[dim]{escape(problem.message)}[/dim]")
    return table


def rows(count: int) -> str:
    """Return `1 row`, `2 rows`."""
    return "1 row" if count == 1 else f"{count} rows"


def ledger_line(report: RunReport) -> str | None:
    """The line a run starts with when its delivery ledger knows no earlier delivery, or None."""
    if report.ledger_set_aside is not None:
        return (
            f"the delivery ledger was damaged: set aside as {report.ledger_set_aside} (--resend); a new"
            " ledger is started, and every row is sent"
        )
    if report.ledger_new:
        return (
            f"a new delivery ledger, {report.ledger_path}: no earlier delivery is known, so no row is"
            " skipped as already delivered"
        )
    return None


def verdict(report: RunReport, *, validate: bool) -> str:
    """Return the one line that ends the human report: what happened, and what to do next."""
    done = report.count(Status.VALID if validate else Status.SENT)
    refused = report.count(Status.INVALID) + report.count(Status.REJECTED)
    failed = report.count(Status.FAILED)
    skipped = report.count(Status.SKIPPED)
    parts = [f"{done} {'valid' if validate else 'sent'}"]
    if skipped:
        parts.append(f"{skipped} skipped")
    if refused:
        parts.append(f"{refused} refused (--rejects PATH writes them out to fix and upload again)")
    if failed:
        why = failed_because(report)
        parts.append(f"{failed} not delivered ({escape(why) + '; ' if why else ''}run again to send them)")
    colour = "red" if failed or refused else "green"
    # A stop mid-run leaves the rest of the input unread: the count is not the file's.
    read = " read before the stop" if report.stop_error or report.budget_stop else ""
    return f"[{colour}]{rows(report.rows)}{read}: {', '.join(parts)}[/{colour}]"


def failed_because(report: RunReport) -> str | None:
    """Return why the first `failed` row the report lists was not delivered (how long it was tried, for an
    API that could not be reached), or None."""
    return next((p.message for o in report.failures if o.status is Status.FAILED for p in o.errors), None)


def stderr_console(quiet: bool = False) -> Console:
    """Return the console of the human report: standard error, no highlighting, silent when `quiet`."""
    return Console(stderr=True, quiet=quiet, highlight=False)


def print_note(console: Console, message: str) -> None:
    """Print how an input is read (`api.Job.notes`): one line, before the run."""
    console.print(f"[dim]snapcapi:[/dim] {escape(message)}", soft_wrap=True)


def print_error(console: Console, message: str) -> None:
    """Print `message` (already redacted) as an error line, its brackets shown as written."""
    console.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
