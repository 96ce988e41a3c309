"""The options of the command line, declared once: `upload` and `validate` share them (`app`), and
`inspect` takes the input ones. Only the CLI imports typer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from snapcapi import spec

SETTINGS_PANEL = "Settings (flag, then SNAPCAPI_* variable, then .env, then the mapping file)"
INPUT_PANEL = "Input"
OUTPUT_PANEL = "Output"
SENDING_PANEL = "Sending"

Files = Annotated[
    list[str],
    typer.Argument(
        metavar="FILE...", help="CSV, TSV or JSON Lines files (.gz too); - for stdin.", show_default=False
    ),
]
AccessToken = Annotated[
    str | None,
    typer.Option(
        help="Long-lived Conversions API token.", rich_help_panel=SETTINGS_PANEL, show_default=False
    ),
]
ClientId = Annotated[str | None, typer.Option(help="OAuth client id.", rich_help_panel=SETTINGS_PANEL)]
ClientSecret = Annotated[
    str | None, typer.Option(help="OAuth client secret.", rich_help_panel=SETTINGS_PANEL)
]
RefreshToken = Annotated[
    str | None, typer.Option(help="OAuth refresh token.", rich_help_panel=SETTINGS_PANEL)
]
PixelId = Annotated[
    str | None,
    typer.Option(help="Pixel ID: the asset of WEB and OFFLINE events.", rich_help_panel=SETTINGS_PANEL),
]
SnapAppId = Annotated[
    str | None,
    typer.Option(help="Snap App ID: the asset of MOBILE_APP events.", rich_help_panel=SETTINGS_PANEL),
]
AppId = Annotated[
    str | None, typer.Option(help="Store app id of MOBILE_APP events.", rich_help_panel=SETTINGS_PANEL)
]
ApiUrl = Annotated[
    str | None,
    typer.Option(help=f"API base URL (default {spec.DEFAULT_API_URL})", rich_help_panel=SETTINGS_PANEL),
]
OAuthUrl = Annotated[str | None, typer.Option(help="OAuth token URL.", rich_help_panel=SETTINGS_PANEL)]
ConversionType = Annotated[
    str | None,
    typer.Option(
        help="Action source of rows without one: WEB, MOBILE_APP or OFFLINE (default WEB)",
        rich_help_panel=SETTINGS_PANEL,
    ),
]
DefaultRegion = Annotated[
    str | None,
    typer.Option(
        help="Phone region for numbers without a country code (default US)", rich_help_panel=SETTINGS_PANEL
    ),
]
StateDir = Annotated[
    Path | None, typer.Option(help="Where the delivery ledger lives.", rich_help_panel=SETTINGS_PANEL)
]
EnvFile = Annotated[
    Path | None, typer.Option(help="Read settings from this .env file.", rich_help_panel=SETTINGS_PANEL)
]
EventType = Annotated[
    str | None, typer.Option(help="Event name of rows without one.", rich_help_panel=SETTINGS_PANEL)
]
Timezone = Annotated[
    str | None,
    typer.Option(help="Time zone of times without an offset (default UTC)", rich_help_panel=SETTINGS_PANEL),
]
MapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="FIELD=COLUMN (repeatable). The fields are listed in the README, section Input;"
        " `snapcapi inspect FILE` shows which column feeds which.",
        rich_help_panel=INPUT_PANEL,
    ),
]
MappingFile = Annotated[Path | None, typer.Option(help="TOML mapping file.", rich_help_panel=INPUT_PANEL)]
Format = Annotated[
    str | None,
    typer.Option(
        "--format",
        help="csv, tsv, jsonl, parquet or xlsx (default: by extension).",
        rich_help_panel=INPUT_PANEL,
    ),
]
Delimiter = Annotated[
    str | None, typer.Option(help="CSV delimiter (default: sniffed).", rich_help_panel=INPUT_PANEL)
]
Sheet = Annotated[
    str | None,
    typer.Option(
        help="A workbook's sheet, by name or number (default: the first).", rich_help_panel=INPUT_PANEL
    ),
]
Preset = Annotated[
    str | None,
    typer.Option(
        help="Read the files as this export: shopify, woocommerce, stripe, google, meta; none: plain columns"
        " (default: recognized from the header).",
        rich_help_panel=INPUT_PANEL,
        show_default=False,
    ),
]
DateFormat = Annotated[
    str | None,
    typer.Option(
        help="strptime pattern of every date field, e.g. %d/%m/%Y %H:%M (default: decided per column).",
        rich_help_panel=INPUT_PANEL,
    ),
]
DecimalComma = Annotated[
    bool | None,
    typer.Option(
        "--decimal-comma/--no-decimal-comma",
        help="Numbers are written 12,50 (or 12.50); default: decided per column.",
        rich_help_panel=INPUT_PANEL,
        show_default=False,
    ),
]
Limit = Annotated[
    int | None, typer.Option(help="Read only the first N rows.", min=1, rich_help_panel=INPUT_PANEL)
]
MaxInvalid = Annotated[
    float | None,
    typer.Option(
        help="Stop before sending more once this share of rows is invalid.",
        min=0.0,
        max=1.0,
        rich_help_panel=INPUT_PANEL,
    ),
]
BatchSize = Annotated[
    int,
    typer.Option(
        help="Events per request.", min=1, max=spec.MAX_EVENTS_PER_REQUEST, rich_help_panel=SENDING_PANEL
    ),
]
Concurrency = Annotated[
    int, typer.Option(help="Requests in flight.", min=1, max=64, rich_help_panel=SENDING_PANEL)
]
Workers = Annotated[
    int | None,
    typer.Option(
        help="Processes building events (default: one per CPU; 1: this process only).",
        min=1,
        max=64,
        show_default=False,
        rich_help_panel=INPUT_PANEL,
    ),
]
MaxRetries = Annotated[
    int, typer.Option(help="Retries of one request.", min=0, max=50, rich_help_panel=SENDING_PANEL)
]
Timeout = Annotated[
    float, typer.Option(help="Seconds to wait for an answer.", min=0.1, rich_help_panel=SENDING_PANEL)
]
ReportPath = Annotated[
    Path | None,
    typer.Option(
        "--report",
        help="Write one record per row (JSON Lines, or CSV for .csv).",
        rich_help_panel=OUTPUT_PANEL,
    ),
]
RejectsPath = Annotated[
    Path | None,
    typer.Option(
        "--rejects",
        help="Write invalid and rejected rows, in the input's format, plus an error column.",
        rich_help_panel=OUTPUT_PANEL,
    ),
]
JsonOutput = Annotated[
    bool, typer.Option("--json", help="Print a JSON summary on stdout.", rich_help_panel=OUTPUT_PANEL)
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress and no human report.", rich_help_panel=OUTPUT_PANEL)
]
NoProgress = Annotated[
    bool, typer.Option("--no-progress", help="No progress bar.", rich_help_panel=OUTPUT_PANEL)
]
Verbose = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Each request's status and timing.", rich_help_panel=OUTPUT_PANEL),
]
