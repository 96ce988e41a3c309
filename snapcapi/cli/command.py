"""Running `upload` and `validate` for the command line: the flags become an `api.Request`, `api.start`
runs it, and this module adds what only a terminal needs: the progress bar, SIGINT and SIGTERM, the human
and `--json` reports, and the exit code.

The exit codes are `ExitCode`, mapped from a run's report in one place (`exit_code_for`); expected
failures become a message and a code, unexpected ones still crash loudly.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from snapcapi.api import Job, start
from snapcapi.cli.retries import Requests
from snapcapi.errors import AuthError, ConfigError, InputError, LedgerError, OutputError, exhausted
from snapcapi.model import RunReport, Status
from snapcapi.outputs.atomic import STDOUT
from snapcapi.outputs.report import (
    failed_because,
    ledger_line,
    print_error,
    print_note,
    render,
    rows,
    stderr_console,
    summary,
)
from snapcapi.request import Request
from snapcapi.run import memory
from snapcapi.run.interrupts import stopping
from snapcapi.send.redact import redact

if TYPE_CHECKING:
    from rich.console import Console


class ExitCode(IntEnum):
    """The exit codes of CLI.md; users' scripts rely on them."""

    OK = 0  # every row sent (or valid) or skipped
    ROWS_REFUSED = 1  # some rows invalid or rejected
    USAGE = 2  # usage, configuration or unreadable input: nothing sent
    AUTH = 3  # Snap refused the credentials
    UNDELIVERED = 4  # some rows failed: run again to deliver them
    # The run stopped part-way on this machine's side: a report, rejects file or the ledger failed, the
    # machine ran out of disk, memory, files or threads, or an input broke off (a truncated gzip) after
    # rows were sent. The counts say what was sent.
    STOPPED = 5
    INTERRUPTED = 130


def exit_code_for(report: RunReport) -> ExitCode:
    """Return the exit code a finished run ends with."""
    if report.interrupted:
        return ExitCode.INTERRUPTED
    if report.stop_error:
        return ExitCode.STOPPED
    if report.auth_error:
        return ExitCode.AUTH
    if report.endpoint_error:
        # The API URL is not Snap's: a configuration error, unless some rows went out before it said so.
        return ExitCode.UNDELIVERED if report.count(Status.SENT) else ExitCode.USAGE
    if report.budget_stop:
        return ExitCode.ROWS_REFUSED
    if report.count(Status.FAILED):
        return ExitCode.UNDELIVERED
    if report.count(Status.INVALID) or report.count(Status.REJECTED):
        return ExitCode.ROWS_REFUSED
    return ExitCode.OK


@dataclass(frozen=True, slots=True)
class Output:
    """What the terminal shows of a run: the command line's Output options that are not files."""

    json: bool = False
    quiet: bool = False
    no_progress: bool = False
    verbose: bool = False


def execute(request: Request, output: Output) -> int:
    """Run upload or validate; return the exit code. Expected failures become a message and a code."""
    memory.tune_malloc()
    console = stderr_console(output.quiet)
    errors = stderr_console()  # why a run failed is shown even with --quiet: cron mails it
    to_stdout = [flag for flag, path in (("--report", request.report), ("--rejects", request.rejects))
                 if path is not None and str(path) == STDOUT]  # fmt: skip
    if output.json and to_stdout:
        message = f"--json and {to_stdout[0]} - both write to standard output; give {to_stdout[0]} a file"
        return _failed(errors, replace(output, json=False), message, ExitCode.USAGE)
    requests = Requests(console, verbose=output.verbose)
    job: Job | None = None
    try:
        with (
            start(request, on_attempt=requests.on_attempt, on_retry=requests.on_retry) as job,
            _progress(
                console,
                job,
                enabled=not (output.quiet or output.no_progress),
                send=request.send,
                status=requests.status,
            ),
            stopping(
                job.run,
                quiet=output.quiet,
                temporaries=job.temporaries,
                exit_code=ExitCode.INTERRUPTED,
                also=job.halt.set,
            ),
        ):
            first = ledger_line(job.report)
            if first is not None and not output.quiet:
                console.print(f"[yellow]{escape(first)}[/yellow]", soft_wrap=True)
            for note in job.notes:
                print_note(console, note)
            report = job.execute()
    except (LedgerError, OutputError) as err:
        if job is None or not job.executed:
            return _failed(errors, output, str(err), ExitCode.USAGE)
        # A report or rejects file could not be finished (a full disk at the very end): the run is counted.
        report = job.report
        report.output_error = report.output_error or str(err)
    except (ConfigError, InputError) as err:
        return _failed(errors, output, str(err), ExitCode.USAGE)
    except AuthError as err:  # raised before any row, e.g. by the OAuth grant
        return _failed(errors, output, str(err), ExitCode.AUTH)
    except Exception as err:
        # Out of file descriptors, memory or threads before the run could start (or while its files were
        # closed): one line, not a traceback, and not exit 1 ("rows refused").
        why = exhausted(err)
        if why is None:
            raise
        if job is None or not job.executed:
            return _failed(errors, output, why, ExitCode.STOPPED)
        report = job.report
        report.resource_error = report.resource_error or why
    code = exit_code_for(report)
    if job.broken is not None:  # an input broke off: "nothing was sent" only when nothing was
        code = ExitCode.STOPPED if report.count(Status.SENT) else ExitCode.USAGE
    validate_view = not request.send
    if not output.quiet:
        verb = "upload" if request.send else "validate"
        render(report, console, validate=validate_view, title=f"snapcapi {verb}: {rows(report.rows)}")
    elif job.broken is None and (reason := failure(report)) is not None:
        print_error(errors, redact(reason))
    document = summary(report, validate=validate_view, exit_code=int(code))
    if job.broken is not None:
        print_error(errors, redact(str(job.broken)))
        document["error"] = redact(str(job.broken))
    _print_json(output, document)
    return code


def failure(report: RunReport) -> str | None:
    """Return the one line that says why a finished run failed (exit 1 by --max-invalid, 3, 4, 5 or 130),
    which --quiet still prints; None when it did not fail, or failed only by refusing rows (exit 1)."""
    if report.interrupted:
        return "interrupted: what was delivered is recorded; run again to send the rest"
    if report.auth_error:
        return f"stopped: {report.auth_error}"
    if report.budget_stop:
        return report.budget_stop
    failed = report.count(Status.FAILED)
    if stop := report.stop_error:  # exit 5, perhaps with nothing failed
        said = [f"stopped: {stop}"]
        if failed:
            said.append(f"{rows(failed)} not delivered; run again to send them")
        if report.unrecorded:
            said.append(f"{rows(report.unrecorded)} sent, not recorded in the ledger: sent again next time")
        return "; ".join(said)
    if not failed:
        return None
    why = failed_because(report)
    return f"{rows(failed)} not delivered{f' ({why})' if why else ''}; run again to send them"


@contextmanager
def _progress(
    console: Console, job: Job, *, enabled: bool, send: bool, status: Callable[[], str | None]
) -> Iterator[None]:
    """Show the run's progress on the terminal while the block runs, with what `status()` says (a wait
    before a retry); nothing when not `enabled` or not on a terminal (the progress line is imported only
    then)."""
    if not enabled or not console.is_terminal:
        yield
        return
    from snapcapi.outputs.progress import progress

    with progress(
        console, lambda: job.report, job.run.sources, enabled=True, send=send, status=status
    ) as update:
        job.run.progress = update
        yield


def _failed(console: Console, output: Output, message: str, code: ExitCode) -> int:
    """Print an error that stopped the run (`api.start` has redacted its secrets); return `code`."""
    print_error(console, redact(message))
    _print_json(output, {"error": redact(message), "exit_code": int(code)})
    return code


def _print_json(output: Output, document: dict[str, Any]) -> None:
    if output.json:
        # A file name that is not UTF-8 holds lone surrogates: write them as \udcXX escapes (valid JSON),
        # never as raw bytes nor as a crash.
        text = json.dumps(document, ensure_ascii=False).encode("utf-8", "backslashreplace").decode("utf-8")
        sys.stdout.write(text + "\n")
