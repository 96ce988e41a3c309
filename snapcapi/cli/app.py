"""The command line: a thin adapter from flags to `snapcapi.api`, the emulator and the helpers.

Only this module imports typer. It declares the commands and their options (those `upload` and `validate`
share, once) and turns them into an `api.Request`; `command` runs it and maps every expected failure to an
exit code.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from snapcapi import __version__, spec
from snapcapi.cli.command import ExitCode, Output, execute
from snapcapi.cli.help import Command, epilog, hidden, print_mock_server_help
from snapcapi.cli.options import (
    SENDING_PANEL,
    AccessToken,
    ApiUrl,
    AppId,
    BatchSize,
    ClientId,
    ClientSecret,
    Concurrency,
    ConversionType,
    DateFormat,
    DecimalComma,
    DefaultRegion,
    Delimiter,
    EnvFile,
    EventType,
    Files,
    Format,
    JsonOutput,
    Limit,
    MapOption,
    MappingFile,
    MaxInvalid,
    MaxRetries,
    NoProgress,
    OAuthUrl,
    PixelId,
    Preset,
    Quiet,
    RefreshToken,
    RejectsPath,
    ReportPath,
    Sheet,
    SnapAppId,
    StateDir,
    Timeout,
    Timezone,
    Verbose,
    Workers,
)
from snapcapi.errors import SnapcapiError
from snapcapi.outputs.report import stderr_console
from snapcapi.request import Request
from snapcapi.send.redact import redact
from snapcapi.spec import EVENT_ALIASES, EventName

app = typer.Typer(
    name="snapcapi",
    help="Upload conversion events from CSV/TSV/JSON Lines files to Snap's Conversions API v3.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
)


def _shared_options(
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
    timezone: Timezone = None,
    map_: MapOption = None,
    mapping: MappingFile = None,
    format_: Format = None,
    delimiter: Delimiter = None,
    sheet: Sheet = None,
    preset: Preset = None,
    date_format: DateFormat = None,
    decimal_comma: DecimalComma = None,
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
    """The options `upload` and `validate` share, declared once here; `_with_shared_options` adds them to
    each command after its own."""


def _with_shared_options(
    command: Callable[..., Request], *, hide: frozenset[str] = frozenset()
) -> Callable[..., None]:
    """Return `command` as a Typer command taking its own parameters then the shared options (those in
    `hide` taken, but left out of its help), that runs the request `command` returns with the Output
    options."""
    own = inspect.signature(command, eval_str=True).parameters.values()
    shared = [
        p.replace(annotation=hidden(p.annotation)) if p.name in hide else p
        for p in inspect.signature(_shared_options, eval_str=True).parameters.values()
    ]
    parameters = [p for p in own if p.kind is not inspect.Parameter.VAR_KEYWORD] + list(shared)

    def run(**values: Any) -> None:
        output = Output(
            json=values.pop("json_"),
            quiet=values.pop("quiet"),
            no_progress=values.pop("no_progress"),
            verbose=values.pop("verbose"),
        )
        values["map"], values["format"] = values.pop("map_"), values.pop("format_")
        raise typer.Exit(execute(command(**values), output))

    run.__name__, run.__doc__ = command.__name__, command.__doc__
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    setattr(run, "__signature__", inspect.Signature(parameters))  # what Typer reads the options from  # noqa: B010
    return run


@app.command(cls=Command, epilog=epilog("upload"))
@_with_shared_options
def upload(
    files: Files,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate only: the same as `snapcapi validate`.")
    ] = False,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Send to an emulator inside this process: no credentials.")
    ] = False,
    test_event_code: Annotated[
        str | None, typer.Option(help="Mark the events as Snap test events.", rich_help_panel=SENDING_PANEL)
    ] = None,
    resend: Annotated[
        bool,
        typer.Option(
            "--resend", help="Ignore the ledger: send rows delivered before.", rich_help_panel=SENDING_PANEL
        ),
    ] = False,
    no_ledger: Annotated[
        bool,
        typer.Option(
            "--no-ledger", help="Neither read nor write the delivery ledger.", rich_help_panel=SENDING_PANEL
        ),
    ] = False,
    **shared: Any,
) -> Request:
    """Read, validate, normalize, hash, batch and send; print a per-row report."""
    own = {"dry_run": dry_run, "sandbox": sandbox, "test_event_code": test_event_code, "resend": resend}
    return Request.of(files, {**own, "no_ledger": no_ledger, **shared}, send=True)


# validate sends nothing (but with --remote): its help leaves out how requests are sent, which it takes.
@app.command(cls=Command, epilog=epilog("validate"))
@partial(_with_shared_options, hide=frozenset({"batch_size", "concurrency", "max_retries", "timeout"}))
def validate(
    files: Files,
    remote: Annotated[
        bool,
        typer.Option(
            "--remote", help="Check with Snap's /events/validate test endpoint (needs credentials)."
        ),
    ] = False,
    **shared: Any,
) -> Request:
    """Check every row as `upload` would, send nothing, and summarize the data's quality."""
    return Request.of(files, {"remote": remote, **shared}, send=False)


@app.command("inspect", cls=Command, epilog=epilog("inspect"))
def inspect_(
    file: Annotated[str, typer.Argument(metavar="FILE", help="The file to look at; - for stdin.")],
    write_mapping: Annotated[
        Path | None,
        typer.Option("--write-mapping", metavar="PATH", help="Write a mapping file stating every choice."),
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    event_type: EventType = None,
    conversion_type: ConversionType = None,
    timezone: Timezone = None,
    map_: MapOption = None,
    mapping: MappingFile = None,
    format_: Format = None,
    delimiter: Delimiter = None,
    sheet: Sheet = None,
    preset: Preset = None,
    date_format: DateFormat = None,
    decimal_comma: DecimalComma = None,
) -> None:
    """Show what snapcapi makes of a file: format, recognized export, column -> field with masked samples,
    missing fields, suggested options."""
    from snapcapi.cli.inspecting import run_inspect

    raise typer.Exit(
        run_inspect(
            file,
            write_mapping=write_mapping,
            as_json=json_,
            event_type=event_type,
            conversion_type=conversion_type,
            timezone=timezone,
            maps=map_ or (),
            mapping=mapping,
            format=format_,
            delimiter=delimiter,
            sheet=sheet,
            preset=preset,
            date_format=date_format,
            decimal_comma=decimal_comma,
        )
    )


@app.command("event-types", cls=Command, epilog=epilog("event-types"))
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


# The fields `snapcapi hash` takes: `events.identifiers.IDENTIFIERS`, named here so that the help needs
# no import of the normalizers (and phonenumbers); tests/test_startup.py checks the two agree.
IDENTIFIER_FIELDS = (
    "email", "phone", "first_name", "last_name", "gender", "date_of_birth", "city", "state", "zip",
    "country", "external_id", "ip_address", "user_agent", "sc_click_id", "sc_cookie1", "madid", "idfv",
)  # fmt: skip


@app.command("hash", cls=Command, epilog=epilog("hash"))
def hash_(
    field_name: Annotated[
        str, typer.Argument(metavar="FIELD", help=f"One of: {', '.join(IDENTIFIER_FIELDS)}.")
    ],
    value: Annotated[str, typer.Argument(help="The raw value.")],
    default_region: Annotated[
        str, typer.Option(help="Phone region for numbers without a country code.")
    ] = "US",
    country: Annotated[
        str | None,
        typer.Option(
            help="The row's country (FR, fra, France): a phone number without country code is read there."
        ),
    ] = None,
) -> None:
    """Show how one value is normalized and hashed, or why it is refused."""
    from snapcapi.events.identifiers import IDENTIFIERS, IdentifierError, is_hashed, normalize, sha256_hex
    from snapcapi.events.phone import has_country_code, region_of_country

    console = stderr_console()
    ident = IDENTIFIERS.get(field_name)
    if ident is None:
        console.print(
            f"[red]error:[/red] unknown field {field_name!r}; the fields are: {', '.join(IDENTIFIERS)}"
        )
        raise typer.Exit(ExitCode.USAGE)
    region = default_region.upper()
    if country is not None:
        region = region_of_country(country) or ""
        if not region:
            console.print(f"[red]error:[/red] --country {country!r} is not a country with phone numbers")
            raise typer.Exit(ExitCode.USAGE)
    try:
        normalized = normalize(field_name, value, region)
    except IdentifierError as err:
        console.print(f"[red]refused:[/red] {field_name}: {err}")
        raise typer.Exit(ExitCode.ROWS_REFUSED) from None
    out = Console(highlight=False)
    out.print(f"field       {field_name} (user_data.{ident.key})")
    if ident.hashed and is_hashed(value):
        out.print(f"normalized  (already a SHA-256 hash: sent as is, lower-cased)\nsent        {normalized}")
    elif ident.hashed:
        if field_name == "phone" and not has_country_code(value):
            source = "--country" if country is not None else "--default-region"
            out.print(f"read in     {region} ({source}: the number has no country code)")
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
    if {"--help", "-h"} & set(ctx.args):
        print_mock_server_help("snapcapi mock-server")
        raise typer.Exit()
    from snapcapi.emulator import main as emulator_main  # the product needs the emulator only here

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
        stderr_console().print(f"[red]error:[/red] {redact(str(err))}")
        sys.exit(ExitCode.USAGE)
