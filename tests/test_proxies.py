"""Requests go through the proxies the environment names (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`,
`NO_PROXY`), as httpx's own client sends them, with the whole-request deadline kept.

The proxy here is a fake server on 127.0.0.1: a request to an `http://` URL through a proxy is sent to the
proxy with the whole URL as its target, which the fake server records. The target, `snap.invalid`, is
never looked up: only the proxy is connected to.
"""

from __future__ import annotations

import time

import pytest

from snapcapi.errors import ConfigError, DeliveryError
from snapcapi.send.auth import StaticToken
from snapcapi.send.client import SnapClient, make_http_client
from snapcapi.send.proxies import environment_proxies
from tests.conftest import TOKEN, Invoke
from tests.fakeserver import Canned, FakeServer, always

VALID = Canned(200, b'{"status": "VALID", "reason": "ok"}', "application/json")
EVENTS = [{"event_name": "PURCHASE", "event_id": "e1"}]
# A name no resolver knows (RFC 2606): only a proxy can take a request for it.
NOWHERE = "http://snap.invalid"
LOOPBACK: dict[str, str | None] = {"all://localhost": None, "all://127.0.0.1": None, "all://[::1]": None}
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from an environment that names no proxy."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def post(api_url: str, timeout: float = 10) -> bool:
    http = make_http_client(timeout=timeout)
    try:
        return SnapClient(http, api_url, StaticToken(TOKEN), max_retries=0).post_events("px-1", EVENTS).ok
    finally:
        http.close()


def test_a_request_goes_through_the_proxy_http_proxy_names(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeServer(always(VALID)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        assert post(NOWHERE)
    assert [path.split("?")[0] for path in proxy.requests] == [f"{NOWHERE}/v3/px-1/events"]


def test_all_proxy_serves_any_scheme_and_a_bare_host_port_is_http(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeServer(always(VALID)) as proxy:
        monkeypatch.setenv("all_proxy", proxy.url.removeprefix("http://"))
        assert post(NOWHERE)
    assert len(proxy.requests) == 1


def test_loopback_is_reached_directly_whatever_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--sandbox` and `mock-server` listen on 127.0.0.1, which a proxy elsewhere cannot reach."""
    with FakeServer(always(VALID)) as api:
        monkeypatch.setenv("HTTP_PROXY", "http://192.0.2.1:3128")  # TEST-NET-1: used, it would fail
        assert post(api.url, timeout=3)
    assert [path.split("?")[0] for path in api.requests] == ["/v3/px-1/events"]


def test_the_deadline_holds_through_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy that trickles its answer a byte at a time is cut at the request's timeout, as a server is."""
    trickle = Canned(200, b'{"status": "VALID", "reason": "' + b"x" * 200 + b'"}', "application/json", 0.2)
    with FakeServer(always(trickle)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="timed out"):
            post(NOWHERE, timeout=1.5)
        took = time.monotonic() - started
    assert took < 15, f"the request took {took:.1f} s"  # the whole answer takes 44 s


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, {}),
        ({"HTTPS_PROXY": "http://proxy:3128"}, {"https://": "http://proxy:3128", **LOOPBACK}),
        ({"http_proxy": "proxy:3128"}, {"http://": "http://proxy:3128", **LOOPBACK}),
        ({"ALL_PROXY": "socks5://proxy:1080", "NO_PROXY": "*"}, {}),
        (
            {
                "HTTPS_PROXY": "http://proxy:3128",
                "NO_PROXY": "localhost, 10.0.0.1,192.168.0.0/16,fd00::1,.corp.example,example.com",
            },
            {
                "https://": "http://proxy:3128",
                **LOOPBACK,
                "all://10.0.0.1": None,
                "all://192.168.0.0/16": None,
                "all://[fd00::1]": None,
                "all://*.corp.example": None,
                "all://*example.com": None,
            },
        ),
    ],
)
def test_the_environment_gives_httpx_mounts(
    environment: dict[str, str], expected: dict[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert environment_proxies() == expected


def test_a_proxy_that_cannot_be_used_is_a_config_error_without_its_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "ftp://user:hunter2@proxy:21")
    with pytest.raises(ConfigError, match=r"the proxy the environment names for https://") as caught:
        make_http_client()
    assert "hunter2" not in str(caught.value)


def test_a_proxy_that_cannot_be_used_ends_an_upload_with_exit_2(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "ftp://user:hunter2@proxy:21")
    result = invoke(
        "upload",
        "-",
        "--pixel-id",
        "px-1",
        "--access-token",
        TOKEN,
        stdin="event_name,event_time,event_id,email\nSIGN_UP,now-1h,e1,a@example.com\n",
    )
    assert result.exit_code == 2, result.output
    assert "the proxy the environment names for https://" in result.stderr
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output


def test_a_proxy_that_is_not_there_is_named_not_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """A dead proxy: the error names the proxy (without its password), not Snap's host."""
    monkeypatch.setenv("HTTP_PROXY", "http://user:hunter2@127.0.0.1:1")  # nothing listens on port 1
    with pytest.raises(DeliveryError) as caught:
        post(NOWHERE)
    message = str(caught.value)
    assert "the proxy did not take the request to snap.invalid" in message
    assert "cannot reach the proxy http://user:REDACTED@127.0.0.1:1" in message
    assert "hunter2" not in message
