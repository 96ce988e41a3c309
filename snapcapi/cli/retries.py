"""What a run shows of its requests: each attempt with `--verbose`, and each wait before a retry, on the
progress line and with `--verbose`, so that an unreachable API is never retried in silence."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:  # types only: the CLI's start-up does without httpx until a run sends
    from snapcapi.send.client import AttemptLog, RetryWait


class Requests:
    """Told of each attempt and each wait by the delivery's threads; `status()` is the progress line's
    note. Each callback swaps one reference, which is thread-safe enough for a note on a screen."""

    def __init__(self, console: Console, *, verbose: bool) -> None:
        self.console = console
        self.verbose = verbose
        self._waiting: tuple[RetryWait, float] | None = None  # the latest wait, and when it ends

    def on_attempt(self, entry: AttemptLog) -> None:
        """An attempt ended: the wait before it is over (a failure that is retried sets a new one)."""
        self._waiting = None
        if self.verbose:
            status = entry.status_code if entry.status_code is not None else entry.error
            self.console.print(
                f"[dim]POST {escape(entry.asset_id)} {entry.events} events: {escape(str(status))} in"
                f" {entry.elapsed * 1000:.0f} ms (attempt {entry.attempt})[/dim]",
                soft_wrap=True,
            )

    def on_retry(self, wait: RetryWait) -> None:
        """A failed attempt will be tried again after `wait.wait` seconds."""
        self._waiting = (wait, time.monotonic() + wait.wait)
        if self.verbose:
            self.console.print(
                f"[yellow]{escape(retrying(wait, wait.wait))}[/yellow]",
                soft_wrap=True,
            )

    def status(self) -> str | None:
        """The progress line's note: the wait before the latest retry, counting down; None otherwise."""
        waiting = self._waiting
        if waiting is None:
            return None
        wait, until = waiting
        return retrying(wait, max(until - time.monotonic(), 0.0))


def retrying(wait: RetryWait, left: float) -> str:
    """Say a wait before a retry: `retry 3 of 8 in 4.2 s (connection refused by ...; trying for 7.5 s)`."""
    when = f"in {_seconds(left)}" if left > 0 else "now"
    tried = _seconds(wait.spent)
    return f"retry {wait.attempt} of {wait.attempts - 1} {when} ({wait.error}; trying for {tried})"


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
