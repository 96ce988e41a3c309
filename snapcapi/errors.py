"""The exceptions snapcapi raises. A row's problems are data (`model.Problem`), never exceptions.

    SnapcapiError                 base of everything snapcapi raises on purpose
    ├── ConfigError               settings, credentials or flags are missing or wrong; nothing was sent
    ├── InputError                an input file cannot be opened or read as a whole (no header, not found)
    ├── LedgerError               the delivery ledger is locked by another run or cannot be opened
    ├── OutputError               a report or rejects file cannot be written
    ├── AuthError                 Snap refused the credentials (401 after a refresh, or 403)
    ├── EndpointError             what answers at the API URL is not Snap's Conversions API
    └── DeliveryError             Snap could not be reached, or kept failing, after every retry

Every message is safe to print: the access token is redacted before an exception is made.
"""

from __future__ import annotations


class SnapcapiError(Exception):
    """Base of every error snapcapi raises on purpose."""


class ConfigError(SnapcapiError):
    """Settings, credentials or flags are missing or inconsistent; raised before anything is sent."""


class InputError(SnapcapiError):
    """An input file cannot be read as a whole: it is missing, unreadable, or has no usable header."""


class LedgerError(SnapcapiError):
    """The delivery ledger is locked by another run, or cannot be opened."""


class OutputError(SnapcapiError):
    """A report or rejects file cannot be written (a full disk, a missing directory, no permission)."""


class AuthError(SnapcapiError):
    """Snap refused the credentials (HTTP 401 after a refresh, or 403); the run must stop."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class EndpointError(SnapcapiError):
    """What answered at the API URL is not Snap's Conversions API: a mistyped `--api-url`, a captive portal,
    a proxy or a maintenance page. The answer says nothing about the events; the run must stop."""


class DeliveryError(SnapcapiError):
    """A request could not be delivered: network errors, 429 or 5xx answers, after every retry."""
