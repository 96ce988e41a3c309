"""Running `upload` and `validate` for the command line: one `pipeline.Run`, and all that surrounds it.

`execute(CommandArgs)` resolves the settings, opens the inputs, builds the sender, the ledger and the
report sinks, handles SIGINT and SIGTERM, prints the report, and returns the exit code. The exit codes
are `ExitCode`, mapped from a run's report in one place (`exit_code_for`); expected failures become a
message and a code, unexpected ones still crash loudly. `cli.py` turns flags into `CommandArgs`.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from snapcapi.emulator import Emulator, EmulatorConfig
from snapcapi.errors import AuthError, ConfigError, InputError, LedgerError, OutputError
from snapcapi.events.build import ASSET_HINTS, BuildContext
from snapcapi.events.mapping import Mapper, MappingConfig, load_mapping_file, parse_map_options
from snapcapi.model import RunReport, Status
from snapcapi.outputs.atomic import is_stream
from snapcapi.outputs.rejects import RejectsWriter
from snapcapi.outputs.report import ReportWriter, print_error, progress, render, stderr_console, summary
from snapcapi.read.open import Source, SourceSpec, open_source
from snapcapi.run import memory
from snapcapi.run.interrupts import stopping
from snapcapi.run.pipeline import Run, RunOptions, Sink
from snapcapi.send.auth import OAuthToken, StaticToken, TokenSource
from snapcapi.send.client import AttemptLog, SnapClient, make_http_client
from snapcapi.send.delivery import Delivery
from snapcapi.send.ledger import Ledger
from snapcapi.send.redact import redact
from snapcapi.settings import Settings, resolve
from snapcapi.spec import ActionSource, lookup_event_name

if TYPE_CHECKING:
    from rich.console import Console


class ExitCode(IntEnum):
    """The exit codes of CLI.md; users' scripts rely on them."""

    OK = 0  # every row sent (or valid) or skipped
    ROWS_REFUSED = 1  # some rows invalid or rejected
    USAGE = 2  # usage, configuration or unreadable input: nothing sent
    AUTH = 3  # Snap refused the credentials
    UNDELIVERED = 4  # some rows failed: run again to deliver them
    INTERRUPTED = 130


def exit_code_for(report: RunReport) -> ExitCode:
    """Return the exit code a finished run ends with."""
    if report.interrupted:
        return ExitCode.INTERRUPTED
    if report.auth_error:
        return ExitCode.AUTH
    if report.budget_stop:
        return ExitCode.ROWS_REFUSED
    if report.count(Status.FAILED):
        return ExitCode.UNDELIVERED
    if report.count(Status.INVALID) or report.count(Status.REJECTED):
        return ExitCode.ROWS_REFUSED
    return ExitCode.OK


# Seconds a run waits for another run to release the delivery ledger before it stops (exit 2).
LEDGER_WAIT = 10.0
SANDBOX_TOKEN = "sandbox-token"  # the in-process emulator's token, not a secret
SANDBOX_PIXEL_ID = "sandbox-pixel"
SANDBOX_SNAP_APP_ID = "sandbox-snap-app"
SANDBOX_APP_ID = "123456789"


@dataclass(frozen=True, slots=True)
class CommandArgs:
    """Everything `upload` and `validate` were given, before settings are resolved."""

    files: list[str]
    flags: dict[str, str | None]
    env_file: Path | None
    event_type: str | None
    timezone: str
    maps: list[str]
    mapping: Path | None
    fmt: str | None
    delimiter: str | None
    limit: int | None
    max_invalid: float | None
    batch_size: int
    concurrency: int
    max_retries: int
    timeout: float
    report: Path | None
    rejects: Path | None
    json: bool
    quiet: bool
    no_progress: bool
    verbose: bool
    send: bool = False  # False: validate locally
    remote: bool = False  # validate with Snap's test endpoint
    sandbox: bool = False
    test_event_code: str | None = None
    resend: bool = False
    no_ledger: bool = False
    workers: int | None = None  # None: one per CPU


def execute(args: CommandArgs) -> int:
    """Run upload or validate; return the exit code. Expected failures become a message and a code."""
    memory.tune_malloc()
    console = stderr_console(args.quiet)
    secrets: tuple[str, ...] = ()
    broken: InputError | None = None
    try:
        with ExitStack() as stack:
            _check_output_paths(args)
            settings, mapping = _settings(args)
            secrets = settings.secrets()
            if args.sandbox:
                emulator = stack.enter_context(
                    Emulator(EmulatorConfig(access_tokens=frozenset({SANDBOX_TOKEN})))
                )
                settings = _sandbox_settings(settings, emulator.url)
            validate_only = not args.send and not args.remote
            sources = [stack.enter_context(_opened(s, args)) for s in args.files]
            mapper = Mapper(mapping, parse_map_options(args.maps))
            ctx = _context(args, settings, mapping)
            _check_fixed_assets(sources, mapper, ctx, settings)
            halt = threading.Event()  # set by SIGINT/SIGTERM: no more retries
            sender = None
            if not validate_only:
                settings.check_credentials()
                sender = _sender(args, settings, stack, console, halt)
            ledger = None
            recording = args.send and not args.sandbox and not args.test_event_code
            if sender is not None and args.send and not args.no_ledger and not args.sandbox:
                ledger = stack.enter_context(Ledger.open(settings.state_dir, wait=LEDGER_WAIT))
            sinks: list[Sink] = []
            temporaries: list[Path | None] = []
            if args.report:
                report_writer = stack.enter_context(ReportWriter(args.report))
                sinks.append(report_writer)
                temporaries.append(report_writer.temporary)
            if args.rejects:
                rejects = stack.enter_context(RejectsWriter(args.rejects))
                sinks.append(_rejects_sink(rejects))
                temporaries.append(rejects.temporary)
            options = RunOptions(
                limit=args.limit,
                max_invalid=args.max_invalid,
                resend=args.resend,
                record=recording,
                workers=args.workers,
            )
            run = Run(sources, mapper, ctx, sender=sender, ledger=ledger, options=options, sinks=sinks)
            with (
                progress(
                    console,
                    lambda: run.report,
                    enabled=not (args.quiet or args.no_progress),
                    send=args.send,
                ) as progress_sink,
                stopping(
                    run,
                    quiet=args.quiet,
                    temporaries=[t for t in temporaries if t is not None],
                    exit_code=ExitCode.INTERRUPTED,
                    also=halt.set,
                ),
            ):
                if progress_sink is not None:
                    run.sinks = [*sinks, progress_sink]
                try:
                    report = run.execute()
                except InputError as err:
                    # The input broke off part-way (a truncated gzip): the rows before it have their
                    # outcomes and what was sent is recorded, so the reports are written all the same.
                    broken, report = err, run.report
                    report.requests = sender.requests if sender is not None else 0
    except (ConfigError, InputError, LedgerError, OutputError) as err:
        print_error(console, redact(str(err), secrets))
        _print_json(args, {"error": redact(str(err), secrets), "exit_code": int(ExitCode.USAGE)})
        return ExitCode.USAGE
    except AuthError as err:  # raised before any row, e.g. by the OAuth grant
        print_error(console, redact(str(err), secrets))
        _print_json(args, {"error": redact(str(err), secrets), "exit_code": int(ExitCode.AUTH)})
        return ExitCode.AUTH
    code = exit_code_for(report) if broken is None else ExitCode.USAGE
    validate_view = not args.send
    if not args.quiet:
        verb = "upload" if args.send else "validate"
        render(report, console, validate=validate_view, title=f"snapcapi {verb}: {report.rows} rows")
    document = summary(report, validate=validate_view, exit_code=int(code))
    if broken is not None:
        print_error(console, redact(str(broken), secrets))
        document["error"] = redact(str(broken), secrets)
    _print_json(args, document)
    return code


def _check_output_paths(args: CommandArgs) -> None:
    """Refuse a --report or --rejects path that is one of the inputs, or both the same file: it would be
    overwritten."""
    inputs = {Path(f).resolve() for f in args.files if f != "-"}
    for flag, path in (("--report", args.report), ("--rejects", args.rejects)):
        if path is not None and path.resolve() in inputs:
            raise ConfigError(f"{flag} {path} is one of the input files; it would be overwritten")
    report, rejects = args.report, args.rejects
    same = report is not None and rejects is not None and report.resolve() == rejects.resolve()
    if same and report is not None and not is_stream(report):  # two streams to one pipe may be meant
        raise ConfigError(f"--report and --rejects are the same file, {report}; give each its own")


def _print_json(args: CommandArgs, document: dict[str, Any]) -> None:
    if args.json:
        # A file name that is not UTF-8 holds lone surrogates: write them as \udcXX escapes (valid JSON),
        # never as raw bytes nor as a crash.
        text = json.dumps(document, ensure_ascii=False).encode("utf-8", "backslashreplace").decode("utf-8")
        sys.stdout.write(text + "\n")


def _settings(args: CommandArgs) -> tuple[Settings, MappingConfig]:
    mapping = load_mapping_file(args.mapping) if args.mapping else MappingConfig()
    settings = resolve(args.flags, os.environ, env_file=args.env_file, mapping_settings=mapping.settings)
    return settings, mapping


def _sandbox_settings(settings: Settings, url: str) -> Settings:
    return replace(
        settings,
        access_token=SANDBOX_TOKEN,
        client_id=None,
        client_secret=None,
        refresh_token=None,
        api_url=url,
        pixel_id=settings.pixel_id or SANDBOX_PIXEL_ID,
        snap_app_id=settings.snap_app_id or SANDBOX_SNAP_APP_ID,
        app_id=settings.app_id or SANDBOX_APP_ID,
    )


@contextmanager
def _opened(path: str, args: CommandArgs) -> Iterator[Source]:
    fmt = args.fmt.lower() if args.fmt else None
    if fmt is not None and fmt not in ("csv", "tsv", "jsonl"):
        raise ConfigError(f"--format {args.fmt!r}: expected csv, tsv or jsonl")
    source = open_source(SourceSpec(path, fmt, args.delimiter), stdin=sys.stdin.buffer)
    try:
        yield source
    finally:
        source.close()


def _context(args: CommandArgs, settings: Settings, mapping: MappingConfig) -> BuildContext:
    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"--timezone {args.timezone!r} is not a time zone (try UTC or Europe/Paris)"
        ) from None
    default_name = None
    if args.event_type:
        default_name = lookup_event_name(args.event_type, dict(mapping.event_names))
        if default_name is None:
            raise ConfigError(
                f"--event-type {args.event_type!r} is not one of Snap's event names (snapcapi event-types)"
            )
    return BuildContext(
        now=int(time.time()),
        pixel_id=settings.pixel_id,
        snap_app_id=settings.snap_app_id,
        app_id=settings.app_id,
        default_event_name=default_name,
        default_action_source=settings.conversion_type,
        timezone=zone,
        default_region=settings.default_region,
        event_names=mapping.event_names,
    )


def _check_fixed_assets(sources: list[Source], mapper: Mapper, ctx: BuildContext, settings: Settings) -> None:
    """Stop before any row when the conversion type of every row is known and its asset is not set.

    When a column gives each row its own conversion type, a row whose asset is missing is invalid instead
    (with the same message), since finding out beforehand would mean reading the whole input twice.
    """
    constant = mapper.config.constants.get("action_source")
    if constant is not None:
        fixed: ActionSource | None = None
        try:
            fixed = ActionSource(constant.strip().upper())
        except ValueError:
            raise ConfigError(
                f"mapping [constants] action_source {constant!r} is not WEB, MOBILE_APP or OFFLINE"
            ) from None
    elif all(s.columns is not None for s in sources) and not any(
        "action_source" in _fields(mapper, s) for s in sources
    ):
        fixed = settings.conversion_type
    else:
        return
    if not ctx.asset_for(fixed):
        raise ConfigError(f"To send {fixed.value} events, set {ASSET_HINTS[fixed]}")
    app_id_known = ctx.app_id or "app_id" in mapper.config.constants
    no_app_id_column = all(s.columns is not None and "app_id" not in _fields(mapper, s) for s in sources)
    if fixed is ActionSource.MOBILE_APP and not app_id_known and no_app_id_column:
        raise ConfigError("To send MOBILE_APP events, set the store App ID (--app-id or SNAPCAPI_APP_ID)")


def _fields(mapper: Mapper, source: Source) -> set[str]:
    """The canonical fields a CSV/TSV source's columns feed."""
    return {name for _, name in mapper.plan(source.columns or [], source=source.name).pairs}


def _token_source(settings: Settings, http: Any) -> TokenSource:
    if settings.access_token:
        return StaticToken(settings.access_token)
    return OAuthToken(  # check_credentials made sure all three are set
        http,
        settings.oauth_url,
        settings.client_id or "",
        settings.client_secret or "",
        settings.refresh_token or "",
    )


def _sender(
    args: CommandArgs, settings: Settings, stack: ExitStack, console: Console, halt: threading.Event
) -> Delivery:
    """The delivery of this run; setting `halt` stops its retries (and their waits) at once."""
    http = make_http_client(timeout=args.timeout, max_connections=max(4, args.concurrency * 2))
    stack.callback(http.close)
    tokens = _token_source(settings, http)

    def log_attempt(entry: AttemptLog) -> None:
        status = entry.status_code if entry.status_code is not None else entry.error
        console.print(
            f"[dim]POST {entry.asset_id} {entry.events} events: {status} in {entry.elapsed * 1000:.0f} ms"
            f" (attempt {entry.attempt})[/dim]",
            soft_wrap=True,
        )

    client = SnapClient(
        http,
        settings.api_url,
        tokens,
        max_retries=args.max_retries,
        on_attempt=log_attempt if args.verbose else None,
        sleep=halt.wait,
        halted=halt.is_set,
    )
    return Delivery(
        client,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        validate=args.remote,
        test_event_code=args.test_event_code,
    )


def _rejects_sink(writer: RejectsWriter) -> Sink:
    def sink(outcome: Any, source: Source, row: Any) -> None:
        if outcome.status in (Status.INVALID, Status.REJECTED):
            writer.write(source, row, "; ".join(str(p) for p in outcome.errors))

    return sink
