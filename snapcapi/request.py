"""What an `upload` or `validate` is asked for: its keyword settings, typed (`UploadSettings`,
`ValidateSettings`), and `Request`, the one value the front door, the command line and Spark build a run
from."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from snapcapi.errors import ConfigError
from snapcapi.spec import MAX_EVENTS_PER_REQUEST

# An input: a path (`-`: standard input), or rows already in memory, one mapping of field to value each.
Input = str | os.PathLike[str] | Iterable[Mapping[str, Any]]
PathLike = str | os.PathLike[str]

# The settings resolved by `settings.resolve` (keyword, environment, .env, mapping file).
SETTING_NAMES = (
    "access_token", "client_id", "client_secret", "refresh_token", "pixel_id", "snap_app_id", "app_id",
    "api_url", "oauth_url", "conversion_type", "default_region", "state_dir", "timezone", "event_type",
)  # fmt: skip


class CommonSettings(TypedDict, total=False):
    """The keyword settings of both `upload` and `validate`: the command line's options, underscored."""

    access_token: str
    client_id: str
    client_secret: str
    refresh_token: str
    pixel_id: str
    snap_app_id: str
    app_id: str
    api_url: str
    oauth_url: str
    conversion_type: str
    default_region: str
    state_dir: PathLike
    env_file: PathLike
    event_type: str
    timezone: str
    map: Iterable[str] | Mapping[str, str]  # FIELD=COLUMN strings, or {field: column}
    mapping: PathLike
    format: str
    delimiter: str
    sheet: str  # a workbook's sheet (default: the first)
    preset: str  # a recognized export to read the files as: "auto" (detect), "none", or its name
    date_format: str  # a strptime pattern for every date field
    decimal_comma: bool  # numbers are written 12,50 (True) or 12.50 (False); default: decided per column
    limit: int
    max_invalid: float
    batch_size: int
    concurrency: int
    workers: int  # processes building events (default: one per CPU; 1: this process only)
    max_retries: int
    timeout: float
    report: PathLike
    rejects: PathLike


class UploadSettings(CommonSettings, total=False):
    """The keyword settings of `upload`."""

    dry_run: bool
    sandbox: bool
    test_event_code: str
    resend: bool
    no_ledger: bool


class ValidateSettings(CommonSettings, total=False):
    """The keyword settings of `validate`."""

    remote: bool


@dataclass(frozen=True, slots=True)
class Request:
    """One `upload` or `validate` as asked for, before the settings are resolved.

    `flags` holds the `SETTING_NAMES` given as arguments (None when not given). `send`: upload (False:
    validate, locally unless `remote`).
    """

    files: tuple[Input, ...]
    flags: Mapping[str, str | None]
    env_file: Path | None = None
    maps: tuple[str, ...] = ()
    mapping: Path | None = None
    format: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    preset: str | None = None
    date_format: str | None = None
    decimal_comma: bool | None = None
    limit: int | None = None
    max_invalid: float | None = None
    batch_size: int = MAX_EVENTS_PER_REQUEST
    concurrency: int = 4
    workers: int | None = None  # None: one per CPU
    max_retries: int = 8
    timeout: float = 30.0
    report: Path | None = None
    rejects: Path | None = None
    send: bool = False
    remote: bool = False
    sandbox: bool = False
    test_event_code: str | None = None
    resend: bool = False
    no_ledger: bool = False

    @classmethod
    def of(cls, files: Iterable[Input], settings: Mapping[str, Any], *, send: bool) -> Request:
        """Return the request of `upload` (`send`) or `validate` called with `settings` as keywords.

        Raises TypeError for a keyword the command does not take, ConfigError for a value out of range.
        """
        command = "upload" if send else "validate"
        allowed = (UploadSettings if send else ValidateSettings).__optional_keys__
        for name in settings:
            if name not in allowed:
                raise TypeError(f"{command}() got an unexpected keyword argument {name!r}")
        values = {name: value for name, value in settings.items() if value is not None}
        flags = {name: _text(values.pop(name, None)) for name in SETTING_NAMES}
        for name in ("env_file", "mapping", "report", "rejects"):
            if name in values:
                values[name] = Path(values[name])
        given = values.pop("map", ())
        maps = tuple(f"{k}={v}" for k, v in given.items()) if isinstance(given, Mapping) else tuple(given)
        for name, (low, high) in _RANGES.items():
            value = values.get(name)
            if value is not None and not (low <= value <= high):
                raise ConfigError(f"{name} {value!r} is not between {low} and {high}")
        send = send and not values.pop("dry_run", False)
        return cls(tuple(files), flags, maps=maps, send=send, **values)


_RANGES: dict[str, tuple[float, float]] = {
    "limit": (1, float("inf")),
    "max_invalid": (0.0, 1.0),
    "batch_size": (1, MAX_EVENTS_PER_REQUEST),
    "concurrency": (1, 64),
    "workers": (1, 64),
    "max_retries": (0, 50),
    "timeout": (0.1, float("inf")),
}


def _text(value: object) -> str | None:
    return None if value is None else str(value)
