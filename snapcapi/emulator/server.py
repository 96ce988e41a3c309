"""A local emulator of Snap's Conversions API v3, for users' pipelines, end-to-end tests and `--sandbox`.

    Emulator(config).start()  ->  http (ThreadingHTTPServer)  ->  EmulatorCore.handle  ->  Answer
                                                                         ├── quick (the plain events)
                                                                         ├── rules.check_event
                                                                         └── store.EmulatorStore

Settings and their command-line options are in `snapcapi.emulator.config`. This module holds the
`Emulator` object and the command line (`python -m snapcapi.emulator`, mirrored by `snapcapi mock-server`).

Endpoints: `POST /v3/{asset_id}/events`, `POST /v3/{asset_id}/events/validate`,
`GET /v3/{asset_id}/events/validate/logs` and `/validate/stats`, `POST /login/oauth2/access_token`, and,
for tests only, `GET /_emulator/events[?asset_id=]`, `GET /_emulator/stats`, `POST /_emulator/reset`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType, TracebackType
from typing import Any, Final

from snapcapi.emulator.config import DEFAULT_CONFIG, OPTIONS, EmulatorConfig, config_from_options
from snapcapi.emulator.core import OAUTH_PATH, EmulatorCore
from snapcapi.emulator.http import make_server
from snapcapi.run import memory

DEFAULT_HOST: Final = "127.0.0.1"
LISTENING: Final = "snapcapi mock-server listening on {url}"


class Emulator:
    """Snap's v3 endpoints on a local port. The socket is bound on construction, so `url` is known at once.

    Use `start()`/`stop()` or `with Emulator(...) as emulator:` to serve from a background thread, or
    `serve_forever()` to serve in the calling thread. An emulator serves once: it cannot be restarted.
    Raises OSError from the constructor when the address cannot be bound.
    """

    def __init__(
        self, config: EmulatorConfig = DEFAULT_CONFIG, host: str = DEFAULT_HOST, port: int = 0
    ) -> None:
        self.core = EmulatorCore(config)
        self._server = make_server(host, port, self.core)
        self._thread: threading.Thread | None = None
        self._serving = False  # a serving loop was started, in `_thread` or in serve_forever's caller
        self._closed = False

    @property
    def config(self) -> EmulatorConfig:
        """The configuration the emulator was made with."""
        return self.core.config

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:54321`: the `api_url` to give a client."""
        address, port = self._server.server_address[:2]
        host = address.decode() if isinstance(address, bytes) else str(address)
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def oauth_url(self) -> str:
        """The URL of the emulated OAuth token endpoint: the `oauth_url` to give a client."""
        return self.url + OAUTH_PATH

    def start(self) -> Emulator:
        """Serve from a background daemon thread; return self. Raises RuntimeError if already started."""
        self._claim()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},  # stop() waits up to this long; idle wake-ups cost nothing
            name=f"snapcapi-emulator-{self._server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and the listening socket. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._serving:
            self._server.shutdown()  # returns once the serving loop has ended
        if self._thread is not None:
            self._thread.join()
        self._server.close_connections()
        self._server.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until Ctrl-C or SIGTERM, then stop; returns normally on either.

        SIGTERM is treated as Ctrl-C while serving (only from the main thread, where signals arrive).
        Raises RuntimeError if the emulator was already started. `stop()` from another thread ends it too.
        """
        self._claim()
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _interrupt) if in_main else None
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass  # the normal way to stop
        finally:
            if in_main:
                signal.signal(signal.SIGTERM, previous)
            self.stop()

    def _claim(self) -> None:
        if self._serving or self._closed:
            raise RuntimeError("this emulator was already started")
        self._serving = True

    def events(self, asset_id: str | None = None) -> list[dict[str, Any]]:
        """Return a copy of every event kept, optionally of one asset; see `EmulatorStore.events`."""
        return self.core.store.events(asset_id)

    def stats(self) -> dict[str, Any]:
        """Return the counts since start or reset; see `EmulatorStore.stats`."""
        return self.core.store.stats()

    def reset(self) -> None:
        """Forget kept events, counts and validate logs, and restart the faults; see `EmulatorCore.reset`."""
        self.core.reset()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


# -- command line ------------------------------------------------------------------------------------------


def build_parser(prog: str = "python -m snapcapi.emulator") -> argparse.ArgumentParser:
    """Return the emulator's parser: `--host`, `--port` and every `OPTIONS` entry."""
    parser = argparse.ArgumentParser(prog=prog, description="A local emulator of Snap's Conversions API v3.")
    parser.add_argument(
        "--host", default=DEFAULT_HOST, metavar="HOST", help=f"address to listen on (default {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=int, default=0, metavar="N", help="port to listen on; 0 picks a free one (default)"
    )
    for option in OPTIONS:
        if option.kind == "switch":
            parser.add_argument(option.flag, dest=option.dest, action="store_true", help=option.help)
        else:
            kind = {"text": str, "texts": str, "int": int, "float": float}[option.kind]
            action = "append" if option.kind == "texts" else "store"
            parser.add_argument(
                option.flag,
                dest=option.dest,
                action=action,
                type=kind,
                metavar=option.metavar,
                help=option.help,
            )
    return parser


def main(argv: list[str] | None = None, prog: str = "python -m snapcapi.emulator") -> int:
    """Run the emulator from the command line until SIGINT or SIGTERM.

    Prints one line, `snapcapi mock-server listening on URL`, to stdout first. Returns 0 after a signal,
    2 when the address cannot be bound; raises SystemExit(2) on bad options (argparse's way).
    """
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        config = config_from_options(**{option.dest: getattr(args, option.dest) for option in OPTIONS})
    except ValueError as exc:
        parser.error(str(exc))
    try:
        emulator = Emulator(config, host=args.host, port=args.port)
    except OSError as exc:
        print(f"snapcapi mock-server: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 2
    print(LISTENING.format(url=emulator.url), flush=True)
    # Each request's events are a few dozen thousand objects that live as long as the request: about a
    # tenth less CPU under a benchmark's upload (1M rows, 5.2-5.8 s -> 4.6-4.9 s).
    memory.collect_less()
    emulator.serve_forever()
    return 0
