"""What a Spark job settles on the driver, once, before any task runs.

Settings are resolved as the library's front door resolves them (keyword, `SNAPCAPI_*` environment, `.env`,
the mapping's `[settings]`), on the driver only: executors never read an environment. The build context,
`now` included, is made here, so that a retried task builds exactly what the first attempt built. The
credentials are checked here with one harmless call per asset (Snap's validation endpoint, no events), and
an OAuth grant is made here once: a refused token stops the job before any row is read, and tasks get a
token, never the OAuth secrets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from snapcapi.api import Request
from snapcapi.errors import ConfigError
from snapcapi.events.build import BuildContext
from snapcapi.events.mapping import (
    ColumnPlan,
    Mapper,
    MappingConfig,
    load_mapping_file,
    mapping_from_tables,
    parse_map_options,
)
from snapcapi.events.prepare import DATE_FIELDS, NUMBER_FIELDS, Reading, ReadingOptions, plan_source
from snapcapi.model import Row
from snapcapi.read.open import Source
from snapcapi.read.typed import as_text
from snapcapi.send.auth import OAuthToken, StaticToken, TokenSource
from snapcapi.send.client import SnapClient, make_http_client
from snapcapi.settings import Settings, resolve
from snapcapi.spark.columns import OUTCOME_COLUMNS, ROW_ID
from snapcapi.wiring import check_fixed_assets, context

DATAFRAME: Final = "the DataFrame"  # how messages name the input
# Keywords of the front door that mean nothing on Spark: outputs are the returned DataFrame, the delivered
# table is the ledger, and Spark decides the processes.
NOT_ON_SPARK: Final = frozenset(
    {"report", "rejects", "limit", "max_invalid", "workers", "format", "delimiter", "sandbox", "state_dir"}
    | {"no_ledger", "dry_run", "remote"}
)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A job's settings, settled on the driver."""

    request: Request
    settings: Settings
    mapping: MappingConfig
    explicit: Mapping[str, str]  # --map's field -> column
    ctx: BuildContext
    plan: ColumnPlan
    columns: tuple[str, ...]  # the input columns the mapping reads
    keys: tuple[str, ...]
    readings: tuple[tuple[str, Reading], ...] = ()  # how text columns write numbers and dates

    def text_columns_read_as(self, fields: Sequence[str]) -> tuple[str, ...]:
        """The input columns that feed any of `fields`."""
        return tuple(column for column, name in self.plan.pairs if name in fields)


def prepare(
    columns: Sequence[str],
    *,
    send: bool,
    mapping: str | os.PathLike[str] | Mapping[str, Any] | None,
    keys: Sequence[str],
    settings: Mapping[str, Any],
) -> Prepared:
    """Resolve the settings of a job over a DataFrame of `columns`, and check them.

    Raises TypeError for a keyword that does not apply, ConfigError for a bad setting, mapping or key.
    Recognized exports (`preset`) are read from files only: on Spark, a preset other than auto or none
    is a ConfigError, and none is what applies.
    """
    command = "upload" if send else "validate"
    for name in settings:
        if name in NOT_ON_SPARK:
            raise TypeError(f"snapcapi.spark.{command}() does not take {name!r}: it means nothing on Spark")
    config = _mapping(mapping)
    request = Request.of((), settings, send=send)
    if request.preset not in (None, "auto", "none"):
        raise ConfigError(
            f"preset {request.preset!r}: recognized exports are read from files; on Spark, map the columns"
        )
    resolved = resolve(request.flags, os.environ, env_file=request.env_file, mapping_settings=config.settings)
    ctx = context(resolved, config, assets_required=send)
    explicit = parse_map_options(list(request.maps))
    mapper = Mapper(config, explicit)
    plan = mapper.plan(columns, source=DATAFRAME)
    source = Source(DATAFRAME, "spark", None, list(columns), iter(()), ExitStack())
    check_fixed_assets([source], mapper, ctx, resolved)
    _check_keys(columns, keys)
    used = {column for column, _ in plan.pairs}
    read = tuple(column for column in columns if column in used)
    return Prepared(request, resolved, config, explicit, ctx, plan, read, tuple(keys))


def _mapping(mapping: str | os.PathLike[str] | Mapping[str, Any] | None) -> MappingConfig:
    if mapping is None:
        return MappingConfig()
    if isinstance(mapping, Mapping):
        return mapping_from_tables(mapping, "mapping")
    return load_mapping_file(Path(mapping))


def _check_keys(columns: Sequence[str], keys: Sequence[str]) -> None:
    if isinstance(keys, str):
        raise ConfigError(f"keys must be a list of column names, not the string {keys!r}")
    missing = [key for key in keys if key not in columns]
    if missing:
        raise ConfigError(f"keys: {DATAFRAME} has no column {', '.join(map(repr, missing))}")
    taken = [key for key in keys if key in OUTCOME_COLUMNS or key == ROW_ID or key.startswith("_snapcapi")]
    if taken:
        raise ConfigError(
            f"keys: {', '.join(map(repr, taken))} would clash with the outcome columns"
            f" ({', '.join(OUTCOME_COLUMNS)}); rename it in the DataFrame first"
        )
    if len(set(keys)) != len(keys):
        raise ConfigError("keys: a column is named twice")


def checked_token(prepared: Prepared) -> StaticToken:
    """Check the credentials with Snap once, for each asset set; return the token tasks send.

    Raises ConfigError when no credentials are set, AuthError when Snap refuses them, DeliveryError when
    Snap cannot be reached. Messages are redacted.
    """
    settings, request = prepared.settings, prepared.request
    settings.check_credentials()
    http = make_http_client(timeout=request.timeout)
    try:
        tokens: TokenSource
        if settings.access_token:
            tokens = StaticToken(settings.access_token)
        else:
            tokens = OAuthToken(
                http,
                settings.oauth_url,
                settings.client_id or "",
                settings.client_secret or "",
                settings.refresh_token or "",
            )
        client = SnapClient(http, settings.api_url, tokens, max_retries=request.max_retries)
        for asset in dict.fromkeys(a for a in (prepared.ctx.pixel_id, prepared.ctx.snap_app_id) if a):
            client.post_encoded(asset, [], validate=True)  # raises AuthError on 401/403
        return StaticToken(tokens.token())
    finally:
        http.close()


# Rows of a DataFrame sampled on the driver to decide how its text columns write numbers and dates.
SAMPLE_ROWS: Final = 1000
READ_FIELDS: Final = (*NUMBER_FIELDS, *DATE_FIELDS)


def with_readings(prepared: Prepared, sample: Sequence[Sequence[Any]], columns: Sequence[str]) -> Prepared:
    """Decide, as the command line does for a file, how the text `columns` write numbers (12,50 or
    12.50) and dates (day or month first), from `sample` (their values in the first rows), the
    `date_format` and `decimal_comma` settings first. Returns `prepared` with its readings.

    Raises InputError (naming the DataFrame, the column and the field) when the values allow two readings.
    """
    request = prepared.request
    options = ReadingOptions.of(
        "none", request.date_format, request.decimal_comma, dict(prepared.mapping.reading)
    )
    rows = [
        Row(DATAFRAME, i, {c: as_text(v) for c, v in zip(columns, values, strict=True)})
        for i, values in enumerate(sample, 1)
    ]
    source = Source(DATAFRAME, "spark", None, list(columns), iter(()), ExitStack(), sample=rows)
    plan_source(source, Mapper(prepared.mapping, prepared.explicit), prepared.ctx, options)
    return replace(prepared, readings=tuple(source.readings.items()))
