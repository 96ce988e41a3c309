"""The pieces `api.start` assembles a run from: the build context, the fixed-asset check, the sender, a
source of rows given in memory, and the rejects file's sink."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from snapcapi.errors import ConfigError
from snapcapi.events.build import ASSET_HINTS, BuildContext
from snapcapi.events.mapping import Mapper, MappingConfig
from snapcapi.model import Row
from snapcapi.read.open import Source
from snapcapi.settings import Settings
from snapcapi.spec import ActionSource, lookup_event_name

if TYPE_CHECKING:  # sending is imported when a run sends (validate and start-up do without httpx)
    from snapcapi.send.auth import TokenSource
    from snapcapi.send.client import AttemptLog, RetryWait
    from snapcapi.send.delivery import Delivery


def context(settings: Settings, mapping: MappingConfig, *, assets_required: bool = True) -> BuildContext:
    """Return the build context of a run (`assets_required` False: a local validate, whose rows need no
    Pixel or Snap App ID). Raises ConfigError for an unknown time zone or event name."""
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"time zone {settings.timezone!r} (--timezone) is not a time zone (try UTC or Europe/Paris)"
        ) from None
    default_name = None
    event_type = settings.event_type
    if event_type:
        default_name = lookup_event_name(event_type, dict(mapping.event_names))
        if default_name is None:
            raise ConfigError(
                f"--event-type {event_type!r} is not one of Snap's event names (snapcapi event-types)"
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
        assets_required=assets_required,
    )


def check_fixed_assets(sources: list[Source], mapper: Mapper, ctx: BuildContext, settings: Settings) -> None:
    """Stop before any row when the conversion type of every row is known and its asset is not set (unless
    the run sends nothing: `ctx.assets_required` False).

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
    if not ctx.asset_for(fixed) and ctx.assets_required:
        raise ConfigError(f"To send {fixed.value} events, set {ASSET_HINTS[fixed]}")
    app_id_known = ctx.app_id or "app_id" in mapper.config.constants
    no_app_id_column = all(s.columns is not None and "app_id" not in _fields(mapper, s) for s in sources)
    if fixed is ActionSource.MOBILE_APP and not app_id_known and no_app_id_column:
        raise ConfigError("To send MOBILE_APP events, set the store App ID (--app-id or SNAPCAPI_APP_ID)")


def _fields(mapper: Mapper, source: Source) -> set[str]:
    """The canonical fields a CSV/TSV source's columns feed."""
    return {name for _, name in mapper.plan(source.columns or [], source=source.name).pairs}


def _token_source(settings: Settings, http: Any) -> TokenSource:
    from snapcapi.send.auth import OAuthToken, StaticToken

    if settings.access_token:
        return StaticToken(settings.access_token)
    return OAuthToken(  # check_credentials made sure all three are set
        http,
        settings.oauth_url,
        settings.client_id or "",
        settings.client_secret or "",
        settings.refresh_token or "",
    )


@dataclass(frozen=True, slots=True)
class Sending:
    """How a run sends: the command line's Sending options."""

    batch_size: int
    concurrency: int
    max_retries: int
    timeout: float
    remote: bool  # to Snap's validation endpoint
    test_event_code: str | None


def sender(
    sending: Sending,
    settings: Settings,
    stack: ExitStack,
    halt: threading.Event,
    on_attempt: Callable[[AttemptLog], None] | None,
    on_retry: Callable[[RetryWait], None] | None = None,
) -> Delivery:
    """The delivery of this run; setting `halt` stops its retries (and their waits) at once."""
    from snapcapi.send.client import SnapClient, make_http_client
    from snapcapi.send.delivery import Delivery

    http = make_http_client(
        timeout=sending.timeout, max_connections=max(4, sending.concurrency * 2), halted=halt.is_set
    )
    stack.callback(http.close)
    client = SnapClient(
        http,
        settings.api_url,
        _token_source(settings, http),
        max_retries=sending.max_retries,
        on_attempt=on_attempt,
        on_retry=on_retry,
        sleep=halt.wait,
        halted=halt.is_set,
    )
    return Delivery(
        client,
        batch_size=sending.batch_size,
        concurrency=sending.concurrency,
        validate=sending.remote,
        test_event_code=sending.test_event_code,
    )


def rows_source(rows: Iterable[Mapping[str, Any]], name: str) -> Source:
    """A source of rows already in memory, read as JSON Lines objects are: line N is the Nth mapping."""
    if isinstance(rows, Mapping | bytes):
        raise TypeError(f"an input is a path or an iterable of row dicts, not a {type(rows).__name__}")

    def records() -> Iterator[Row]:
        for line, data in enumerate(rows, 1):
            if isinstance(data, Mapping):
                yield Row(name, line, dict(data))
            else:
                yield Row(name, line, {}, f"line {line}: not a mapping of fields to values")

    return Source(name, "jsonl", None, None, records(), ExitStack())
