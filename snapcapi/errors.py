"""The exceptions snapcapi raises. A row's problems are data (`model.Problem`), never exceptions.

    SnapcapiError                 base of everything snapcapi raises on purpose
    ├── ConfigError               settings, credentials or flags are missing or wrong; nothing was sent
    ├── InputError                an input file cannot be opened or read as a whole (no header, not found)
    ├── LedgerError               the delivery ledger is locked by another run or cannot be opened
    ├── OutputError               a report or rejects file cannot be written
    ├── ResourceError             this machine ran out of something: disk, memory, file descriptors, threads
    ├── AuthError                 Snap refused the credentials (401 after a refresh, or 403)
    ├── EndpointError             what answers at the API URL is not Snap's Conversions API
    └── DeliveryError             Snap could not be reached, or kept failing, after every retry

Every message is safe to print: the access token is redacted before an exception is made.
"""

from __future__ import annotations

import errno
import tempfile


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


class ResourceError(SnapcapiError):
    """This machine ran out of something the run needs: room for temporary files, memory, threads, file
    descriptors or worker processes. `exhausted` tells such failures from the others."""


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


def exhausted(err: BaseException) -> str | None:
    """Return one line saying which of this machine's resources `err` says ran out, or None when it is not
    about one (a bug, or a failure with its own error).

    Disk space (also for temporary files: TMPDIR), the file-size limit, file descriptors, memory, threads
    and worker processes that died (an out-of-memory kill).
    """
    if isinstance(err, MemoryError):
        return "out of memory"
    if isinstance(err, OSError) and err.errno is not None:
        where = f" ({err.filename})" if isinstance(err.filename, str) else ""
        reason = err.strerror or str(err)
        if err.errno in (errno.EMFILE, errno.ENFILE):
            return f"too many open files{where}: raise the limit (ulimit -n) or run with --workers 1"
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"no space left on the device{where}: {reason}"
        if err.errno == errno.EFBIG:
            return f"a file reached the file-size limit (ulimit -f){where}"
        if err.errno in (errno.ENOMEM, errno.EAGAIN):
            return f"out of memory or processes{where}: {reason}"
        if err.errno == errno.ENOENT and "No usable temporary directory" in str(err):
            # tempfile's own words when it could create no file at all, which running out of file
            # descriptors gives as well as a full or read-only TMPDIR.
            return (
                "no usable temporary directory (TMPDIR): it is full or read-only, or too many files are open"
            )
        return None
    text = str(err)
    if isinstance(err, RuntimeError) and "can't start new thread" in text:
        return "cannot start a thread: out of memory or over the limit of threads (ulimit -u, ulimit -v)"
    if type(err).__name__ == "BrokenProcessPool":
        return "a worker process died (out of memory?): give the run more memory, or run with --workers 1"
    if type(err).__module__ == "sqlite3" and ("disk is full" in text or "out of memory" in text):
        where = tempfile.gettempdir()
        return f"no room for the run's temporary files in {where} (TMPDIR): {text}"
    return None
