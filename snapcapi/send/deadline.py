"""One deadline for a whole request, and a prompt end to requests in flight when the run is stopping.

httpx's timeouts bound each network operation: a server that trickles its answer a byte a second never
lets one read time out, and holds a request for as long as it likes. `DeadlineTransport` gives each
request one deadline, `total` seconds after it starts, across connecting, sending and reading the whole
answer; every socket operation waits at most until then (SnapClient turns that into a timeout, retried
as any other). Once `halted()` says the run is stopping, requests in flight get `grace` seconds more to
finish (their answers are still recorded), then are cut, so that SIGTERM ends a run within seconds.

The deadline lives in a thread-local: httpx reads a response's body on the thread that sent the request,
after the transport has returned.
"""

from __future__ import annotations

import threading
import time
import typing
from collections.abc import Callable

import httpcore
import httpx

from snapcapi.send.redact import redact_url

__all__ = ["HALT_GRACE", "DeadlineTransport"]

# Seconds requests in flight may still take once the run is stopping.
HALT_GRACE = 5.0
# A blocked socket operation looks at the clock (and at `halted`) this often.
_POLL = 0.5

_local = threading.local()


class DeadlineTransport(httpx.BaseTransport):
    """An `httpx.HTTPTransport` whose every request must end `total` seconds after it starts; through
    `proxy` when given (httpx's proxy URL: `http://`, `https://`, `socks5://`)."""

    def __init__(
        self,
        total: float,
        *,
        limits: httpx.Limits,
        halted: Callable[[], bool] = lambda: False,
        grace: float = HALT_GRACE,
        proxy: str | None = None,
    ) -> None:
        self._total = total
        self._inner = httpx.HTTPTransport(limits=limits, proxy=proxy)
        self._proxy = None if proxy is None else redact_url(proxy)
        self._clock = _HaltClock(halted, grace)
        # httpx builds its own connection pool; its sockets are given the deadline through the pool's
        # network backend, which httpcore lets be replaced (httpx does not say so in its signature).
        pool = self._inner._pool
        pool._network_backend = _DeadlineBackend(pool._network_backend, self._clock)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send `request` with a deadline for all of it, its answer's body included."""
        _local.deadline = time.monotonic() + self._total
        try:
            return self._inner.handle_request(request)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            if self._proxy is None:
                raise
            # The connection that failed is the proxy's (the proxy connects to the server): say so.
            raise httpx.ProxyError(
                f"cannot reach the proxy {self._proxy} ({error})", request=request
            ) from None

    def close(self) -> None:
        """Close the connections."""
        self._inner.close()


class _HaltClock:
    """When the current request must end: its own deadline, or the end of the grace once halted."""

    def __init__(self, halted: Callable[[], bool], grace: float) -> None:
        self._halted = halted
        self._grace = grace
        self._cut_at: float | None = None

    def limit(self, timeout: float | None) -> float:
        """The monotonic time the operation starting now must end by (`timeout`: httpx's own)."""
        now = time.monotonic()
        limit: float = getattr(_local, "deadline", None) or float("inf")
        if timeout is not None:
            limit = min(limit, now + timeout)
        if self._cut_at is None and self._halted():
            self._cut_at = now + self._grace
        if self._cut_at is not None:
            limit = min(limit, self._cut_at)
        return limit

    def step(self, limit: float, kind: type[httpcore.TimeoutException]) -> float:
        """Seconds to wait now, at most `_POLL`; raises `kind` once `limit` (or the grace) has passed."""
        if self._cut_at is None and self._halted():
            self._cut_at = time.monotonic() + self._grace
        if self._cut_at is not None:
            limit = min(limit, self._cut_at)
        left = limit - time.monotonic()
        if left <= 0:
            raise kind("the request took longer than its timeout allows")
        return min(left, _POLL)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, clock: _HaltClock) -> None:
        self._stream = stream
        self._clock = clock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        limit = self._clock.limit(timeout)
        while True:
            wait = self._clock.step(limit, httpcore.ReadTimeout)  # raises once the limit has passed
            try:
                return self._stream.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                continue  # a poll, not yet the limit

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # A write is not retried in steps (part of the buffer may have gone): one wait, to the limit.
        limit = self._clock.limit(timeout)
        self._clock.step(limit, httpcore.WriteTimeout)
        self._stream.write(buffer, max(limit - time.monotonic(), 0.001))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        limit = self._clock.limit(timeout)
        self._clock.step(limit, httpcore.ConnectTimeout)
        wrapped = self._stream.start_tls(ssl_context, server_hostname, max(limit - time.monotonic(), 0.001))
        return _DeadlineStream(wrapped, self._clock)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend, clock: _HaltClock) -> None:
        self._backend = backend
        self._clock = clock

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = self._wait(timeout)
        stream = self._backend.connect_tcp(host, port, wait, local_address, socket_options)
        return _DeadlineStream(stream, self._clock)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, self._wait(timeout), socket_options)
        return _DeadlineStream(stream, self._clock)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)

    def _wait(self, timeout: float | None) -> float:
        limit = self._clock.limit(timeout)
        self._clock.step(limit, httpcore.ConnectTimeout)
        return max(limit - time.monotonic(), 0.001)
