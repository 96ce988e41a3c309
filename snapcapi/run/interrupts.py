"""SIGINT and SIGTERM during a run: stop reading and finish what is in flight; a second Ctrl-C, at once.

A signal handler may run between any two bytecodes of the main thread, so what it does is kept to what
is safe there: setting flags, `os.write`, `os.unlink`, `os.kill` and `os._exit`.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snapcapi.run.pipeline import Run


@contextmanager
def stopping(
    run: Run,
    *,
    quiet: bool,
    temporaries: Sequence[Path],
    exit_code: int,
    also: Callable[[], object] = lambda: None,
) -> Iterator[None]:
    """SIGINT and SIGTERM stop reading: the requests in flight finish and are recorded, the reports are
    written, and the run ends with exit 130. A second SIGINT ends the process at once with `exit_code`, as
    a kill would: the requests in flight are not recorded (a later run sends them again, under the same
    event ids), the unfinished `temporaries` (report and rejects files) are removed, and the worker
    processes are ended. `also` is called on the first signal (it stops the retries of what is in flight).
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
            os._exit(exit_code)
        received.append(signum)
        run.stop()
        also()
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
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:  # never imported: no worker was started (and no import in a handler)
        return
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
