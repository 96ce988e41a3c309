"""The front door: `upload(*files, **settings)` and `validate(*files, **settings)`, each returning the
`RunReport`. The command line goes through the same door (`start`, below), and so does every integration.

    import snapcapi
    report = snapcapi.upload("events.csv", pixel_id="...", access_token="...", report="report.jsonl")
    report.count("sent")

The keyword settings are the command line's settings and flags with underscores (`pixel_id`, `api_url`,
`no_ledger`, `workers`...), resolved in the command line's precedence: keyword, then `SNAPCAPI_*`
environment variable, then `.env`, then the mapping file's `[settings]`. A file is a path (`-` for standard
input) or an iterable of row dicts, which are read as JSON Lines objects are.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from snapcapi.errors import ConfigError, InputError, SnapcapiError
from snapcapi.model import RunReport
from snapcapi.outputs.paths import check_output_paths
from snapcapi.request import Input, Request, UploadSettings, ValidateSettings
from snapcapi.run.stops import local_failure, raise_local_failure
from snapcapi.send.redact import redact
from snapcapi.spec import DEFAULT_API_URL

# What a run needs is imported when it starts, not with this module: `snapcapi --help` and the CLI's other
# commands import this module and need none of it (start-up time).
if TYPE_CHECKING:
    from snapcapi.events.mapping import MappingConfig
    from snapcapi.read.open import Source
    from snapcapi.run.pipeline import Run, Sink
    from snapcapi.send.client import AttemptLog, RetryWait
    from snapcapi.settings import Settings

__all__ = [
    "LEDGER_WAIT",
    "Input",
    "Job",
    "Request",
    "UploadSettings",
    "ValidateSettings",
    "start",
    "upload",
    "validate",
]

# Seconds a run waits for another run to release the delivery ledger before it stops (ConfigError-like).
LEDGER_WAIT = 10.0
SANDBOX_TOKEN = "sandbox-token"  # the in-process emulator's token, not a secret
SANDBOX_PIXEL_ID = "sandbox-pixel"
SANDBOX_SNAP_APP_ID = "sandbox-snap-app"
SANDBOX_APP_ID = "123456789"


def upload(*files: Input, **settings: Unpack[UploadSettings]) -> RunReport:
    """Read, check, normalize, hash, batch and send every row of `files`; return the run's report.

    Every row ends in one status (`report.count("sent")`, "invalid", "rejected", "failed", "skipped").
    Rows Snap refused are in the report, not raised. Raises ConfigError (settings, credentials, mapping),
    InputError (a file that cannot be read), LedgerError, OutputError, AuthError (credentials refused
    before any row was sent); messages never hold the token.
    """
    return _finish(Request.of(files, settings, send=True))


def validate(*files: Input, **settings: Unpack[ValidateSettings]) -> RunReport:
    """Check every row of `files` as `upload` would, send nothing (or, with `remote=True`, only to Snap's
    validation endpoint), and return the report (`report.count("valid")`). Raises as `upload` does."""
    return _finish(Request.of(files, settings, send=False))


def _finish(request: Request) -> RunReport:
    with start(request) as job:
        report = job.execute()
    if job.broken is not None:  # the report and rejects files were written first, as the CLI does
        raise job.broken
    raise_local_failure(report)
    return report


class Job:
    """An `upload` or `validate` ready to run: settings resolved, inputs opened, outputs started."""

    def __init__(
        self,
        run: Run,
        halt: threading.Event,
        temporaries: list[Path],
        secrets: tuple[str, ...],
        notes: list[str] | None = None,
    ):
        self.run = run
        # How the inputs are read: recognized exports, column readings, column choices. The run's first lines.
        self.notes = notes or []
        self.halt = halt  # set by `stop`: no more retries, no more waits between them
        self.temporaries = temporaries  # report and rejects files being written, until the run ends
        self.secrets = secrets
        self.broken: InputError | None = None  # the input that broke off part-way, if one did
        self.executed = False  # whether `execute` was called: the report then counts what was sent

    @property
    def report(self) -> RunReport:
        """The report so far (complete once `execute` returns)."""
        return self.run.report

    def stop(self) -> None:
        """Stop reading; requests in flight finish and are recorded. Safe to call from a signal handler."""
        self.run.stop()
        self.halt.set()

    def execute(self, watch: Sink | None = None) -> RunReport:
        """Run every row to one outcome and return the report; `watch` is given each row's outcome too.

        An input that breaks off part-way (a truncated gzip) ends the run with the outcomes of the rows
        before it and what was sent recorded; the error is kept in `broken`, for the caller to raise once
        the report files are written. A report, rejects file or ledger that fails mid-run (a full disk)
        stops the run, the answers in flight still counted and recorded: `report.output_error` says why.
        """
        if watch is not None:
            self.run.sinks = [*self.run.sinks, watch]
        self.executed = True
        try:
            return self.run.execute()
        except InputError as err:
            self.broken = InputError(redact(str(err), self.secrets))
        except Exception as err:  # the ledger, an output, or this machine's resources failed mid-run
            if not local_failure(self.report, err, self.secrets):
                raise
        report = self.report
        report.requests = self.run.sender.requests if self.run.sender is not None else 0
        return report


@contextmanager
def start(
    request: Request,
    *,
    on_attempt: Callable[[AttemptLog], None] | None = None,
    on_retry: Callable[[RetryWait], None] | None = None,
) -> Iterator[Job]:
    """Yield the `Job` of `request`; closing it closes the inputs and the ledger, and writes the report
    and rejects files (when the block ends without an exception). `on_attempt` is told of each request
    sent, `on_retry` of each wait before a retry. Every SnapcapiError raised here, or in the block, leaves
    with the secrets redacted."""
    from snapcapi.events.mapping import Mapper, parse_map_options
    from snapcapi.events.prepare import ReadingOptions, plan_sources
    from snapcapi.outputs.rejects import RejectsWriter
    from snapcapi.outputs.reportfile import ReportWriter
    from snapcapi.run.pipeline import Run, RunOptions
    from snapcapi.send.ledger import Ledger
    from snapcapi.wiring import Sending, check_fixed_assets, context, sender

    secrets: tuple[str, ...] = ()
    try:
        with ExitStack() as stack:
            check_output_paths(request.files, request.report, request.rejects)
            settings, mapping = _settings(request)
            secrets = settings.secrets()
            unused_url = settings.api_url if request.sandbox and settings.api_url != DEFAULT_API_URL else None
            if request.sandbox:
                settings = _sandbox(settings, stack)
            validate_only = not request.send and not request.remote
            sheet = request.sheet or mapping.reading.get("sheet")
            sources = [
                stack.enter_context(_opened(f, request, i, sheet)) for i, f in enumerate(request.files, 1)
            ]
            mapper = Mapper(mapping, parse_map_options(list(request.maps)))
            ctx = context(settings, mapping, assets_required=not validate_only)
            reading = ReadingOptions.of(
                request.preset, request.date_format, request.decimal_comma, dict(mapping.reading)
            )
            notes = plan_sources(sources, mapper, ctx, reading)
            check_fixed_assets(sources, mapper, ctx, settings)
            halt = threading.Event()
            delivery = None
            if not validate_only:
                settings.check_credentials()
                sending = Sending(
                    request.batch_size,
                    request.concurrency,
                    request.max_retries,
                    request.timeout,
                    request.remote,
                    request.test_event_code,
                )
                delivery = sender(sending, settings, stack, halt, on_attempt, on_retry)
            ledger = None
            recording = request.send and not request.sandbox and not request.test_event_code
            if delivery is not None and request.send and not request.no_ledger and not request.sandbox:
                ledger = stack.enter_context(
                    Ledger.open(settings.state_dir, wait=LEDGER_WAIT, set_aside_damaged=request.resend)
                )
            temporaries: list[Path] = []
            report_writer = rejects = None
            if request.report:
                report_writer = stack.enter_context(ReportWriter(request.report))
                temporaries += [report_writer.temporary] if report_writer.temporary else []
            if request.rejects:
                rejects = stack.enter_context(RejectsWriter(request.rejects))
                temporaries += [rejects.temporary] if rejects.temporary else []
            options = RunOptions(
                limit=request.limit,
                max_invalid=request.max_invalid,
                resend=request.resend,
                record=recording,
                workers=request.workers,
            )
            run = Run(
                sources,
                mapper,
                ctx,
                sender=delivery,
                ledger=ledger,
                options=options,
                report=report_writer,
                rejects=rejects,
            )
            if unused_url:  # the sandbox wins: it needs no credentials, so it must never reach a real API
                run.report.warnings.append(f"--sandbox wins over --api-url: nothing goes to {unused_url}")
            if ledger is not None:
                ledger.describe(run.report)
            yield Job(run, halt, temporaries, secrets, notes)
    except SnapcapiError as err:
        message = redact(str(err), secrets)
        if message == str(err):
            raise
        raise _with_message(err, message) from None


def _with_message(err: SnapcapiError, message: str) -> SnapcapiError:
    copy = err.__class__.__new__(err.__class__)
    copy.__dict__.update(err.__dict__)
    copy.args = (message,)
    return copy


def _settings(request: Request) -> tuple[Settings, MappingConfig]:
    from snapcapi.events.mapping import MappingConfig, load_mapping_file
    from snapcapi.settings import resolve

    mapping = load_mapping_file(request.mapping) if request.mapping else MappingConfig()
    settings = resolve(
        request.flags, os.environ, env_file=request.env_file, mapping_settings=mapping.settings
    )
    return settings, mapping


def _sandbox(settings: Settings, stack: ExitStack) -> Settings:
    """Start the in-process emulator for this run, and return the settings that send to it."""
    from snapcapi.emulator import Emulator, EmulatorConfig  # only --sandbox needs the emulator

    emulator = stack.enter_context(Emulator(EmulatorConfig(access_tokens=frozenset({SANDBOX_TOKEN}))))
    return replace(
        settings,
        access_token=SANDBOX_TOKEN,
        client_id=None,
        client_secret=None,
        refresh_token=None,
        api_url=emulator.url,
        pixel_id=settings.pixel_id or SANDBOX_PIXEL_ID,
        snap_app_id=settings.snap_app_id or SANDBOX_SNAP_APP_ID,
        app_id=settings.app_id or SANDBOX_APP_ID,
    )


@contextmanager
def _opened(file: Input, request: Request, number: int, sheet: str | None) -> Iterator[Source]:
    from snapcapi.read.open import SourceSpec, open_source
    from snapcapi.wiring import rows_source

    fmt = request.format.lower() if request.format else None
    if fmt is not None and fmt not in ("csv", "tsv", "jsonl", "parquet", "xlsx"):
        raise ConfigError(f"--format {request.format!r}: expected csv, tsv, jsonl, parquet or xlsx")
    if isinstance(file, str | os.PathLike):
        spec = SourceSpec(os.fspath(file), fmt, request.delimiter, sheet)
        source = open_source(spec, stdin=sys.stdin.buffer)
    else:
        source = rows_source(file, f"<rows {number}>")
    try:
        yield source
    finally:
        source.close()
