"""A fake HTTP server on 127.0.0.1 for answers Snap never gives: a portal's HTML, cut-off JSON, a trickle.

`FakeServer(answer)` serves every POST with `answer(path, body)`: a `Canned` status, headers and body, sent
at once or, with `trickle` seconds, one byte at a time. It counts the requests it was sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Canned:
    """One answer: HTTP status, body, content type; `trickle` > 0 sends the body a byte every so often."""

    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    trickle: float = 0.0
    length: int | None = None  # the Content-Length to claim, when not the body's


class FakeServer:
    """A threaded HTTP server on loopback answering every POST with `answer(path, body)`."""

    def __init__(self, answer: Callable[[str, bytes], Canned]) -> None:
        self.requests: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    server.requests.append(self.path)
                canned = answer(self.path, body)
                self.send_response(canned.status)
                self.send_header("Content-Type", canned.content_type)
                self.send_header("Content-Length", str(canned.length or len(canned.body)))
                self.end_headers()
                try:
                    if not canned.trickle:
                        self.wfile.write(canned.body)
                        return
                    for byte in canned.body:
                        if server._stop.wait(canned.trickle):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                except OSError:  # the client gave up: that is the point of a trickle
                    return

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The server's base URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def always(canned: Canned) -> Callable[[str, bytes], Canned]:
    """An `answer` giving the same `canned` answer to every request."""
    return lambda path, body: canned


def wait_for(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll `check` until it holds or `timeout` seconds pass; return whether it held."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
