"""The emulator's HTTP side: a threaded HTTP/1.1 keep-alive server that hands each request to the core.

Only framing lives here (reading bodies, writing answers, dropping connections, closing them on stop);
every decision about what to answer is `EmulatorCore.handle`'s.
"""

from __future__ import annotations

import contextlib
import re
import socket
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, cast

from snapcapi.emulator.core import Answer, EmulatorCore
from snapcapi.spec import MAX_BODY_BYTES

# A body larger than this is not even read to the end: answer 413 and close the connection.
_DRAIN_LIMIT: Final = 16 * MAX_BODY_BYTES
_CHUNK: Final = 64 * 1024
_TOKEN_IN_TEXT = re.compile(r"(access_token=)[^&\s\"']*")


def redact(text: str) -> str:
    """Return `text` with the value of every `access_token=` parameter replaced by `***`."""
    return _TOKEN_IN_TEXT.sub(r"\1***", text)


def make_server(host: str, port: int, core: EmulatorCore) -> EmulatorServer:
    """Return a server bound to `host`:`port` (0: any free port) that answers with `core`.

    Raises OSError when the address cannot be bound.
    """
    server_class = _EmulatorServer6 if ":" in host else EmulatorServer
    return server_class((host, port), core)


class _Handler(BaseHTTPRequestHandler):
    """Reads one request at a time off a keep-alive connection and writes the core's answer."""

    protocol_version = "HTTP/1.1"  # keep-alive: every answer carries Content-Length
    server_version = "snapcapi-emulator"
    sys_version = ""
    disable_nagle_algorithm = True  # small answers would otherwise wait on delayed ACKs
    wbufsize = -1  # headers and body leave in one write; the base class flushes after each request

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        server = cast(EmulatorServer, self.server)
        try:
            body, declared = self._read_body()
        except ValueError as exc:
            # The framing is broken, so the rest of the stream cannot be trusted: answer and close.
            self.close_connection = True
            self._write(Answer(400, {"status": "INVALID", "reason": f"Bad request framing: {exc}"}))
            return
        answer = server.core.handle(self.command, self.path, body, declared)
        if answer.drop:
            self.close_connection = True
            self.log_message("%s dropped without an answer", self.requestline)
            return
        if declared is not None and declared > _DRAIN_LIMIT:
            self.close_connection = True
        self._write(answer)

    def _write(self, answer: Answer) -> None:
        payload = answer.encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def _read_body(self) -> tuple[bytes, int | None]:
        """Return the body, or b"" and its size when it is over the limit (read and dropped, so that the
        connection stays usable). Raises ValueError on a malformed length or chunk."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length <= MAX_BODY_BYTES:
            return self.rfile.read(length), None
        remaining = length if length <= _DRAIN_LIMIT else 0
        while remaining > 0:
            read = self.rfile.read(min(remaining, _CHUNK))
            if not read:
                break  # the client gave up sending
            remaining -= len(read)
        return b"", length

    def _read_chunked(self) -> tuple[bytes, int | None]:
        parts: list[bytes] = []
        size = 0
        while True:
            # EOF or a junk size line: int() raises ValueError, which the caller answers with a 400.
            chunk_size = int(self.rfile.readline(_CHUNK).split(b";")[0].strip(), 16)
            if chunk_size == 0:
                while self.rfile.readline(_CHUNK) not in (b"\r\n", b"\n", b""):
                    pass  # trailers: nothing the emulator needs
                break
            while chunk_size > 0:
                piece = self.rfile.read(min(_CHUNK, chunk_size))
                if not piece:
                    raise ValueError("body ended inside a chunk")
                chunk_size -= len(piece)
                size += len(piece)
                if size <= MAX_BODY_BYTES:
                    parts.append(piece)
                elif size > _DRAIN_LIMIT:
                    return b"", size  # stop reading; the connection is closed after the answer
            self.rfile.readline(_CHUNK)  # the CRLF after the chunk
        return (b"".join(parts), None) if size <= MAX_BODY_BYTES else (b"", size)

    def log_message(self, format: str, *args: Any) -> None:
        if cast(EmulatorServer, self.server).core.config.verbose:
            sys.stderr.write(redact(f"{self.address_string()} - {format % args}") + "\n")


class EmulatorServer(ThreadingHTTPServer):
    """A threaded HTTP server that knows its open connections, so that stopping it ends them too."""

    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not hold up a stop
    request_queue_size = 128  # benchmarks open many connections at once

    def __init__(self, address: tuple[str, int], core: EmulatorCore) -> None:
        self.core = core
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host's name up (socket.getfqdn), which can hang on a machine
        # without DNS; the name is only used in CGI variables, so skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host.decode() if isinstance(host, bytes) else str(host)
        self.server_port = port

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open connection, waking the threads that wait on them."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-request are routine under load: show those only when asked. Anything
        # else is a bug of the emulator and is printed.
        hung_up = isinstance(sys.exc_info()[1], ConnectionError | TimeoutError)
        if self.core.config.verbose or not hung_up:
            super().handle_error(request, client_address)


class _EmulatorServer6(EmulatorServer):
    address_family = socket.AF_INET6
