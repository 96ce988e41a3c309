"""snapcapi: upload conversion events from files to Snap's Conversions API v3.

    import snapcapi
    report = snapcapi.upload("events.csv", pixel_id="...", access_token="...")
    report.count("sent")

The names below are imported when first used, not with the package: `snapcapi --version` and the worker
processes need none of them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from snapcapi.api import upload, validate
    from snapcapi.errors import (
        AuthError,
        ConfigError,
        DeliveryError,
        InputError,
        LedgerError,
        OutputError,
        SnapcapiError,
    )
    from snapcapi.model import Problem, RowOutcome, RunReport, Status
    from snapcapi.request import Input, UploadSettings, ValidateSettings
    from snapcapi.settings import Settings

# Each public name, and the module it comes from.
_HOMES = {
    "upload": "snapcapi.api",
    "validate": "snapcapi.api",
    "Input": "snapcapi.request",
    "UploadSettings": "snapcapi.request",
    "ValidateSettings": "snapcapi.request",
    "RunReport": "snapcapi.model",
    "RowOutcome": "snapcapi.model",
    "Status": "snapcapi.model",
    "Problem": "snapcapi.model",
    "Settings": "snapcapi.settings",
    "SnapcapiError": "snapcapi.errors",
    "ConfigError": "snapcapi.errors",
    "InputError": "snapcapi.errors",
    "LedgerError": "snapcapi.errors",
    "OutputError": "snapcapi.errors",
    "AuthError": "snapcapi.errors",
    "DeliveryError": "snapcapi.errors",
}

__all__ = [
    "AuthError",
    "ConfigError",
    "DeliveryError",
    "Input",
    "InputError",
    "LedgerError",
    "OutputError",
    "Problem",
    "RowOutcome",
    "RunReport",
    "Settings",
    "SnapcapiError",
    "Status",
    "UploadSettings",
    "ValidateSettings",
    "__version__",
    "upload",
    "validate",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'snapcapi' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
