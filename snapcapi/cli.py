"""The command line: a thin adapter from flags to `pipeline`, `report` and the emulator.

Only this module imports typer, and it maps every expected failure to an exit code in one place
(`ExitCode`); unexpected ones still crash loudly.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field, replace
from enum import IntEnum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.markup import escape

from snapcapi import __version__, spec
from snapcapi.atomic import is_stream
from snapcapi.client import (
    AttemptLog,
    OAuthToken,
    SnapClient,
    StaticToken,
    TokenSource,
    make_http_client,
    redact,
)
from snapcapi.delivery import Delivery
from snapcapi.emulator import Emulator, EmulatorConfig
from snapcapi.emulator import main as emulator_main
from snapcapi.errors import AuthError, ConfigError, InputError, LedgerError, OutputError, SnapcapiError
from snapcapi.events import ASSET_HINTS, BuildContext
from snapcapi.identifiers import IDENTIFIERS, IdentifierError, is_hashed, normalize, sha256_hex
from snapcapi.ledger import Ledger
from snapcapi.mapping import Mapper, MappingConfig, load_mapping_file, parse_map_options
from snapcapi.model import RunReport, Status
from snapcapi.pipeline import Run, RunOptions, Sink
from snapcapi.readers import Source, SourceSpec, open_source
from snapcapi.rejects import RejectsWriter
from snapcapi.report import ReportWriter, render, summary
from snapcapi.settings import Settings, resolve
from snapcapi.spec import EVENT_ALIASES, ActionSource, EventName, lookup_event_name


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


app = typer.Typer(
    name="snapcapi",
    help="Upload conversion events from CSV/TSV/JSON Lines files to Snap's Conversions API v3.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Seconds a run waits for another run to release the delivery ledger before it stops (exit 2).
LEDGER_WAIT = 10.0
SANDBOX_TOKEN = "sandbox-token"  # the in-process emulator's token, not a secret
SANDBOX_PIXEL_ID = "sandbox-pixel"
SANDBOX_SNAP_APP_ID = "sandbox-snap-app"
SANDBOX_APP_ID = "123456789"

_SETTINGS = "Settings (flag, then SNAPCAPI_* variable, then .env, then the mapping file)"
_INPUT = "Input"
_OUTPUT = "Output"
_SENDING = "Sending"

Files = Annotated[
    list[str],
    typer.Argument(
        metavar="FILE...", help="CSV, TSV or JSON Lines files (.gz too); - for stdin.", show_default=False
    ),
]
AccessToken = Annotated[
    str | None,
    typer.Option(help="Long-lived Conversions API token.", rich_help_panel=_SETTINGS, show_default=False),
]
ClientId = Annotated[str | None, typer.Option(help="OAuth client id.", rich_help_panel=_SETTINGS)]
ClientSecret = Annotated[str | None, typer.Option(help="OAuth client secret.", rich_help_panel=_SETTINGS)]
RefreshToken = Annotated[str | None, typer.Option(help="OAuth refresh token.", rich_help_panel=_SETTINGS)]
PixelId = Annotated[
    str | None, typer.Option(help="Pixel ID: the asset of WEB and OFFLINE events.", rich_help_panel=_SETTINGS)
]
SnapAppId = Annotated[
    str | None, typer.Option(help="Snap App ID: the asset of MOBILE_APP events.", rich_help_panel=_SETTINGS)
]
AppId = Annotated[
    str | None, typer.Option(help="Store app id of MOBILE_APP events.", rich_help_panel=_SETTINGS)
]
ApiUrl = Annotated[
    str | None,
    typer.Option(help=f"API base URL (default {spec.DEFAULT_API_URL})", rich_help_panel=_SETTINGS),
]
OAuthUrl = Annotated[str | None, typer.Option(help="OAuth token URL.", rich_help_panel=_SETTINGS)]
ConversionType = Annotated[
    str | None,
    typer.Option(
        help="Action source of rows without one: WEB, MOBILE_APP or OFFLINE (default WEB)",
        rich_help_panel=_SETTINGS,
    ),
]
DefaultRegion = Annotated[
    str | None,
    typer.Option(
        help="Phone region for numbers without a country code (default US)", rich_help_panel=_SETTINGS
    ),
]
StateDir = Annotated[
    Path | None, typer.Option(help="Where the delivery ledger lives.", rich_help_panel=_SETTINGS)
]
EnvFile = Annotated[
    Path | None, typer.Option(help="Read settings from this .env file.", rich_help_panel=_SETTINGS)
]
EventType = Annotated[
    str | None, typer.Option(help="Event name of rows without one.", rich_help_panel=_INPUT)
]
Timezone = Annotated[str, typer.Option(help="Time zone of times without an offset.", rich_help_panel=_INPUT)]
MapOption = Annotated[
    list[str] | None, typer.Option("--map", help="FIELD=COLUMN (repeatable).", rich_help_panel=_INPUT)
]
MappingFile = Annotated[Path | None, typer.Option(help="TOML mapping file.", rich_help_panel=_INPUT)]
Format = Annotated[
    str | None,
    typer.Option("--format", help="csv, tsv or jsonl (default: by extension).", rich_help_panel=_INPUT),
]
Delimiter = Annotated[
    str | None, typer.Option(help="CSV delimiter (default: sniffed).", rich_help_panel=_INPUT)
]
Limit = Annotated[int | None, typer.Option(help="Read only the first N rows.", min=1, rich_help_panel=_INPUT)]
MaxInvalid = Annotated[
    float | None,
    typer.Option(
        help="Stop before sending more once this share of rows is invalid.",
        min=0.0,
        max=1.0,
        rich_help_panel=_INPUT,
    ),
]
BatchSize = Annotated[
    int,
    typer.Option(
        help="Events per request.", min=1, max=spec.MAX_EVENTS_PER_REQUEST, rich_help_panel=_SENDING
    ),
]
Concurrency = Annotated[
    int, typer.Option(help="Requests in flight.", min=1, max=64, rich_help_panel=_SENDING)
]
Workers = Annotated[
    int | None,
    typer.Option(
        help="Processes building events (default: one per CPU; 1: this process only).",
        min=1,
        max=64,
        show_default=False,
        rich_help_panel=_SENDING,
    ),
]
MaxRetries = Annotated[
    int, typer.Option(help="Retries of one request.", min=0, max=50, rich_help_panel=_SENDING)
]
Timeout = Annotated[
    float, typer.Option(help="Seconds to wait for an answer.", min=0.1, rich_help_panel=_SENDING)
]
ReportPath = Annotated[
    Path | None,
    typer.Option(
        "--report", help="Write one record per row (JSON Lines, or CSV for .csv).", rich_help_panel=_OUTPUT
    ),
]
RejectsPath = Annotated[
    Path | None,
    typer.Option(
        "--rejects",
        help="Write invalid and rejected rows, in the input's format, plus an error column.",
        rich_help_panel=_OUTPUT,
    ),
]
JsonOutput = Annotated[
    bool, typer.Option("--json", help="Print a JSON summary on stdout.", rich_help_panel=_OUTPUT)
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress and no human report.", rich_help_panel=_OUTPUT)
]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="No progress bar.", rich_help_panel=_OUTPUT)]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Each request's status and timing.", rich_help_panel=_OUTPUT)
]


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
    extra: dict[str, Any] = field(default_factory=dict)
    workers: int | None = None  # None: one per CPU


@app.command()
def upload(
    files: Files,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate only: the same as `snapcapi validate`.")
    ] = False,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Send to an emulator inside this process: no credentials.")
    ] = False,
    test_event_code: Annotated[
        str | None, typer.Option(help="Mark the events as Snap test events.", rich_help_panel=_SENDING)
    ] = None,
    resend: Annotated[
        bool,
        typer.Option(
            "--resend", help="Ignore the ledger: send rows delivered before.", rich_help_panel=_SENDING
        ),
    ] = False,
    no_ledger: Annotated[
        bool,
        typer.Option(
            "--no-ledger", help="Neither read nor write the delivery ledger.", rich_help_panel=_SENDING
        ),
    ] = False,
    access_token: AccessToken = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    refresh_token: RefreshToken = None,
    pixel_id: PixelId = None,
    snap_app_id: SnapAppId = None,
    app_id: AppId = None,
    api_url: ApiUrl = None,
    oauth_url: OAuthUrl = None,
    conversion_type: ConversionType = None,
    default_region: DefaultRegion = None,
    state_dir: StateDir = None,
    env_file: EnvFile = None,
    event_type: EventType = None,
    timezone: Timezone = "UTC",
    map_: MapOption = None,
    mapping: MappingFile = None,
    format_: Format = None,
    delimiter: Delimiter = None,
    limit: Limit = None,
    max_invalid: MaxInvalid = None,
    batch_size: BatchSize = spec.MAX_EVENTS_PER_REQUEST,
    concurrency: Concurrency = 4,
    workers: Workers = None,
    max_retries: MaxRetries = 8,
    timeout: Timeout = 30.0,
    report: ReportPath = None,
    rejects: RejectsPath = None,
    json_: JsonOutput = False,
    quiet: Quiet = False,
    no_progress: NoProgress = False,
    verbose: Verbose = False,
) -> None:
    """Read, validate, normalize, hash, batch and send; print a per-row report."""
    flags = _flags(locals())
    args = CommandArgs(
        files, flags, env_file, event_type, timezone, map_ or [], mapping, format_, delimiter, limit,
        max_invalid, batch_size, concurrency, max_retries, timeout, report, rejects, json_, quiet,
        no_progress, verbose, send=not dry_run, sandbox=sandbox, test_event_code=test_event_code,
        resend=resend, no_ledger=no_ledger, workers=workers,
    )  # fmt: skip
    raise typer.Exit(_execute(args))


@app.command()
def validate(
    files: Files,
    remote: Annotated[
        bool,
        typer.Option(
            "--remote", help="Check with Snap's /events/validate test endpoint (needs credentials)."
        ),
    ] = False,
    access_token: AccessToken = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    refresh_token: RefreshToken = None,
    pixel_id: PixelId = None,
    snap_app_id: SnapAppId = None,
    app_id: AppId = None,
    api_url: ApiUrl = None,
    oauth_url: OAuthUrl = None,
    conversion_type: ConversionType = None,
    default_region: DefaultRegion = None,
    state_dir: StateDir = None,
    env_file: EnvFile = None,
    event_type: EventType = None,
    timezone: Timezone = "UTC",
    map_: MapOption = None,
    mapping: MappingFile = None,
    format_: Format = None,
    delimiter: Delimiter = None,
    limit: Limit = None,
    max_invalid: MaxInvalid = None,
    batch_size: BatchSize = spec.MAX_EVENTS_PER_REQUEST,
    concurrency: Concurrency = 4,
    workers: Workers = None,
    max_retries: MaxRetries = 8,
    timeout: Timeout = 30.0,
    report: ReportPath = None,
    rejects: RejectsPath = None,
    json_: JsonOutput = False,
    quiet: Quiet = False,
    no_progress: NoProgress = False,
    verbose: Verbose = False,
) -> None:
    """Check every row as `upload` would, send nothing, and summarize the data's quality."""
    flags = _flags(locals())
    args = CommandArgs(
        files, flags, env_file, event_type, timezone, map_ or [], mapping, format_, delimiter, limit,
        max_invalid, batch_size, concurrency, max_retries, timeout, report, rejects, json_, quiet,
        no_progress, verbose, remote=remote, workers=workers,
    )  # fmt: skip
    raise typer.Exit(_execute(args))


_SETTING_FLAGS = (
    "access_token", "client_id", "client_secret", "refresh_token", "pixel_id", "snap_app_id", "app_id",
    "api_url", "oauth_url", "conversion_type", "default_region", "state_dir",
)  # fmt: skip


def _flags(values: dict[str, Any]) -> dict[str, str | None]:
    return {name: None if values[name] is None else str(values[name]) for name in _SETTING_FLAGS}


def _console(quiet: bool = False) -> Console:
    return Console(stderr=True, quiet=quiet, highlight=False)


def _execute(args: CommandArgs) -> int:
    """Run upload or validate; return the exit code. Expected failures become a message and a code."""
    console = _console(args.quiet)
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
            sender = None
            if not validate_only:
                settings.check_credentials()
                sender = _sender(args, settings, stack, console)
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
                _progress(console, args, run) as progress_sink,
                _signals(run, quiet=args.quiet, temporaries=[t for t in temporaries if t is not None]),
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
        console.print(f"[red]error:[/red] {escape(redact(str(err), secrets))}", soft_wrap=True)
        _print_json(args, {"error": redact(str(err), secrets), "exit_code": int(ExitCode.USAGE)})
        return ExitCode.USAGE
    except AuthError as err:  # raised before any row, e.g. by the OAuth grant
        console.print(f"[red]error:[/red] {escape(redact(str(err), secrets))}", soft_wrap=True)
        _print_json(args, {"error": redact(str(err), secrets), "exit_code": int(ExitCode.AUTH)})
        return ExitCode.AUTH
    code = exit_code_for(report) if broken is None else ExitCode.USAGE
    validate_view = not args.send
    if not args.quiet:
        verb = "upload" if args.send else "validate"
        render(report, console, validate=validate_view, title=f"snapcapi {verb}: {report.rows} rows")
    document = summary(report, validate=validate_view, exit_code=int(code))
    if broken is not None:
        console.print(f"[red]error:[/red] {escape(redact(str(broken), secrets))}", soft_wrap=True)
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
        "action_source" in dict((f, c) for c, f in mapper.plan(s.columns or [], source=s.name).pairs)
        for s in sources
    ):
        fixed = settings.conversion_type
    else:
        return
    if not ctx.asset_for(fixed):
        raise ConfigError(f"To send {fixed.value} events, set {ASSET_HINTS[fixed]}")


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


def _sender(args: CommandArgs, settings: Settings, stack: ExitStack, console: Console) -> Delivery:
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


@contextmanager
def _signals(run: Run, *, quiet: bool, temporaries: Sequence[Path]) -> Iterator[None]:
    """SIGINT and SIGTERM stop reading: the requests in flight finish and are recorded, the reports are
    written, and the run ends with exit 130. A second SIGINT stops at once, as a kill would: the requests
    in flight are not recorded (a later run sends them again, under the same event ids), the unfinished
    `temporaries` (report and rejects files) are removed, and the worker processes are ended.
    """
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        # os.write and os._exit, not print or sys.exit: the handler can run while the main thread is inside
        # a write to stderr, and worker threads (requests in flight) would hold up a normal exit.
        if received and signum == signal.SIGINT:
            for path in temporaries:
                with suppress(OSError):
                    os.unlink(path)
            _end_children()
            _say(
                quiet,
                "snapcapi: stopped at once; requests in flight were not recorded, a later run sends them",
            )
            os._exit(ExitCode.INTERRUPTED)
        received.append(signum)
        run.stop()
        if len(received) == 1:
            name = signal.Signals(signum).name
            _say(
                quiet,
                f"snapcapi: {name}: finishing the requests in flight, then stopping (Ctrl-C again: at once)",
            )

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _end_children() -> None:
    """Kill this process's child processes (the workers building rows), which an immediate exit would
    leave running, waiting for work that never comes."""
    try:
        children = multiprocessing.active_children()
    except Exception:  # best effort, on the way out
        return
    for child in children:
        if child.pid is not None:
            with suppress(OSError):
                os.kill(child.pid, signal.SIGKILL)


def _say(quiet: bool, message: str) -> None:
    """Write one line to stderr from a signal handler (no buffered stream, no lock)."""
    if not quiet:
        with suppress(OSError):
            os.write(2, (message + "\n").encode())


@contextmanager
def _progress(console: Console, args: CommandArgs, run: Run) -> Iterator[Sink | None]:
    if args.quiet or args.no_progress or not console.is_terminal:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("starting", total=None)
        started = time.monotonic()

        def sink(outcome: Any, source: Source, row: Any) -> None:
            report = run.report
            if report.rows % 100:
                return
            rate = report.rows / max(time.monotonic() - started, 1e-6)
            done = report.count(Status.SENT) + report.count(Status.VALID)
            refused = report.count(Status.INVALID) + report.count(Status.REJECTED)
            progress.update(
                task,
                description=f"{report.rows:,} rows, {done:,} {'sent' if args.send else 'valid'},"
                f" {refused:,} refused, {rate:,.0f} rows/s",
            )

        yield sink


@app.command("event-types")
def event_types(
    json_: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List Snap's predefined event names and the aliases accepted for each."""
    if json_:
        document = {name.value: list(EVENT_ALIASES.get(name, ())) for name in EventName}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table(show_edge=False)
    table.add_column("event name")
    table.add_column("also accepted (any case; spaces, - and _ ignored)")
    for name in EventName:
        table.add_row(name.value, ", ".join(EVENT_ALIASES.get(name, ())))
    Console(highlight=False).print(table)


@app.command("hash")
def hash_(
    field_name: Annotated[str, typer.Argument(metavar="FIELD", help=f"One of: {', '.join(IDENTIFIERS)}.")],
    value: Annotated[str, typer.Argument(help="The raw value.")],
    default_region: Annotated[
        str, typer.Option(help="Phone region for numbers without a country code.")
    ] = "US",
) -> None:
    """Show how one value is normalized and hashed, or why it is refused."""
    console = _console()
    ident = IDENTIFIERS.get(field_name)
    if ident is None:
        console.print(
            f"[red]error:[/red] unknown field {field_name!r}; the fields are: {', '.join(IDENTIFIERS)}"
        )
        raise typer.Exit(ExitCode.USAGE)
    try:
        normalized = normalize(field_name, value, default_region.upper())
    except IdentifierError as err:
        console.print(f"[red]refused:[/red] {field_name}: {err}")
        raise typer.Exit(ExitCode.ROWS_REFUSED) from None
    out = Console(highlight=False)
    out.print(f"field       {field_name} (user_data.{ident.key})")
    if ident.hashed and is_hashed(value):
        out.print(f"normalized  (already a SHA-256 hash: sent as is, lower-cased)\nsent        {normalized}")
    elif ident.hashed:
        out.print(f"normalized  {normalized}\nsha256      {sha256_hex(normalized)}")
    else:
        out.print(f"normalized  {normalized}\nsent        {normalized} (not hashed)")


@app.command(
    "mock-server",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def mock_server(ctx: typer.Context) -> None:
    """Serve a local emulator of Snap's v3 events endpoints (for pipelines and tests); --help lists its
    options: --host, --port, accepted tokens and assets, OAuth, latency, 429/5xx/dropped-connection shares."""
    raise typer.Exit(emulator_main(list(ctx.args), prog="snapcapi mock-server"))


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"snapcapi {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Upload conversion events from CSV/TSV/JSON Lines files to Snap's Conversions API v3."""


def main() -> None:
    """The console script's entry point."""
    try:
        app()
    except SnapcapiError as err:  # anything expected that slipped past a command
        _console().print(f"[red]error:[/red] {redact(str(err))}")
        sys.exit(ExitCode.USAGE)
