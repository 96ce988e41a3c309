"""Answers that are not Snap's success are never deliveries; answers that are not Snap's at all stop the run.

Snap's success is HTTP 200 with `{"status": "VALID"}` (SPEC section 6). A captive portal, a proxy, a
maintenance page or a mistyped `--api-url` answering `200 <html>` once turned every row into `sent`,
recorded in the ledger, so that no later run sent them. A fake server on 127.0.0.1 gives those answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from snapcapi.emulator import Emulator
from snapcapi.errors import DeliveryError, EndpointError
from snapcapi.model import EncodedEvent
from snapcapi.send.auth import StaticToken
from snapcapi.send.client import SnapClient, make_http_client
from snapcapi.send.delivery import Delivery
from snapcapi.send.ledger import Ledger
from tests.conftest import HEADER, TOKEN, Invoke, crashed, purchase, write_csv
from tests.fakeserver import Canned, FakeServer, always

EVENTS = [{"event_name": "PURCHASE", "event_id": "e1"}]
HTML = Canned(200, b"<html><body>Please log in to the guest Wi-Fi</body></html>")
CUT = Canned(200, b'{"status": "VAL', "application/json")
INVALID_200 = Canned(200, b'{"status": "INVALID", "reason": "maintenance"}', "application/json")
NOT_FOUND = Canned(404, b"<html><head><title>404 Not Found</title></head><body>nginx</body></html>")


def client(handler: Callable[[httpx.Request], httpx.Response], retries: int = 0) -> SnapClient:
    http = make_http_client(transport=httpx.MockTransport(handler))
    return SnapClient(
        http, "https://tr.example.test", StaticToken(TOKEN), max_retries=retries, sleep=lambda s: None
    )


def answering(
    status: int, content: bytes, content_type: str = "application/json"
) -> Callable[..., httpx.Response]:
    return lambda request: httpx.Response(status, content=content, headers={"Content-Type": content_type})


@pytest.mark.parametrize(
    ("status", "content", "content_type"),
    [
        (200, b"<html>Welcome to the hotel network</html>", "text/html"),
        (200, b"", "text/plain"),
        (204, b"", "text/plain"),
        (200, b'{"ok": true}', "application/json"),
        (200, b"[]", "application/json"),
        (404, b"<html>Not Found</html>", "text/html"),
        (400, b'{"error": "no such route"}', "application/json"),
        (405, b"Method Not Allowed", "text/plain"),
    ],
)
def test_an_answer_not_in_snaps_shape_is_an_endpoint_error(
    status: int, content: bytes, content_type: str
) -> None:
    """HTML, an empty body or JSON without Snap's `status`: not Snap answering; one request, no retry."""
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return answering(status, content, content_type)(request)

    with pytest.raises(
        EndpointError, match=rf"https://tr.example.test/v3/pixel-1/events is not Snap's .*HTTP {status}"
    ):
        client(handler, retries=3).post_events("pixel-1", EVENTS)
    assert len(requests) == 1


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (200, b'{"status": "INVALID", "reason": "maintenance"}'),
        (200, b'{"status": "PENDING"}'),
        (202, b'{"status": "VALID", "reason": "queued"}'),
        (201, b'{"status": "VALID"}'),
    ],
)
def test_a_2xx_in_snaps_shape_but_not_its_success_is_not_a_delivery(status: int, content: bytes) -> None:
    """Only HTTP 200 with VALID is Snap's success: anything else in its shape fails the request."""
    with pytest.raises(DeliveryError, match=rf"HTTP {status} with status .*the events were not taken"):
        client(answering(status, content)).post_events("pixel-1", EVENTS)


def test_a_cut_off_answer_is_retried_then_fails() -> None:
    """JSON cut off part-way may be a glitch on the way: retried, then the request fails (not sent)."""
    count = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        return httpx.Response(200, content=b'{"status": "VAL')

    with pytest.raises(DeliveryError, match="cut off part-way after 3 attempts"):
        client(handler, retries=2).post_events("pixel-1", EVENTS)
    assert count == 3


def test_a_cut_off_answer_then_snaps_success_is_a_delivery() -> None:
    """A retry that gets Snap's success delivers the events."""
    answers = iter([b'{"status": "VAL', b'{"status": "VALID", "reason": "ok"}'])
    answer = client(lambda r: httpx.Response(200, content=next(answers)), retries=2).post_events("p", EVENTS)
    assert answer.ok
    assert answer.status == "VALID"


def test_validate_mode_takes_an_invalid_verdict_with_its_event_logs() -> None:
    """/events/validate answers 200 INVALID when some events are invalid: that is its verdict, not a fault."""
    body = {"status": "INVALID", "test_event": True, "event_logs": [{"event": 0, "status": "INVALID"}]}
    answer = client(answering(200, json.dumps(body).encode())).post_events("p", EVENTS, validate=True)
    assert answer.ok
    assert answer.event_logs[0].status == "INVALID"


def test_the_url_in_the_message_carries_no_password_nor_token() -> None:
    """The URL named is the one posted to, without the token's query nor a password in it."""
    http = make_http_client(transport=httpx.MockTransport(answering(404, b"<html>x</html>", "text/html")))
    snap = SnapClient(http, "https://user:hunter2@tr.example.test/", StaticToken(TOKEN), max_retries=0)
    with pytest.raises(EndpointError) as caught:
        snap.post_events("pixel-1", EVENTS)
    message = str(caught.value)
    assert "https://user:REDACTED@tr.example.test/v3/pixel-1/events" in message
    assert "hunter2" not in message
    assert TOKEN not in message
    assert "access_token" not in message


def test_a_wrong_endpoint_is_not_bisected() -> None:
    """404 HTML to every request: the run stops after the requests in flight, no event is split off alone,
    every row failed, never rejected."""
    with FakeServer(always(NOT_FOUND)) as server:
        http = make_http_client()
        snap = SnapClient(http, server.url, StaticToken(TOKEN), max_retries=0)
        events = [_event(i) for i in range(1000)]
        delivery = Delivery(snap, batch_size=100, concurrency=4)
        outcomes = list(delivery.deliver(events))
        http.close()
    assert len(outcomes) == 1000
    assert {o.status.value for o in outcomes} == {"failed"}
    assert isinstance(delivery.stopped_by, EndpointError)
    assert len(server.requests) <= 5  # the requests in flight when the first answer came, not 1000


def _event(i: int) -> EncodedEvent:
    return EncodedEvent("f.csv", i + 2, "px-1", "PURCHASE", f"ord-{i}", b'{"event_id":"ord-%d"}' % i, ())


# -- the command line: exit codes and the ledger ----------------------------------------------------------


def _upload(invoke: Invoke, url: str, path: Path, *args: str) -> tuple[int, dict[str, object], str]:
    result = invoke(
        "upload", str(path), "--api-url", url, "--pixel-id", "px-1", "--conversion-type", "OFFLINE",
        "--access-token", TOKEN, "--no-progress", "--json", "--max-retries", "1", *args,
    )  # fmt: skip
    assert crashed(result) is None, result.exception
    return result.exit_code, json.loads(result.stdout), result.stderr


def _ledger_count(tmp_path: Path) -> int:
    with Ledger.open(tmp_path / "state") as ledger:
        return ledger.count()


@pytest.mark.parametrize(
    ("canned", "code", "says"),
    [
        (HTML, 2, "is not Snap's Conversions API (HTTP 200, text/html"),
        (NOT_FOUND, 2, "is not Snap's Conversions API (HTTP 404, text/html"),
        (CUT, 4, "cut off part-way"),
        (INVALID_200, 4, "HTTP 200 with status INVALID (maintenance)"),
    ],
)
def test_nothing_a_wrong_answer_acknowledged_is_recorded_and_a_later_run_sends_it(
    invoke: Invoke, api: Emulator, tmp_path: Path, canned: Canned, code: int, says: str
) -> None:
    """Each wrong answer: no row sent, none recorded in the ledger, the right exit code and one clear
    reason; a later run against Snap (the emulator) sends every row."""
    path = write_csv(tmp_path / "e.csv", HEADER, [purchase(i) for i in range(30)])
    report = tmp_path / "report.jsonl"
    with FakeServer(always(canned)) as server:
        exit_code, summary, stderr = _upload(invoke, server.url, path, "--report", str(report))
    assert exit_code == code, stderr
    assert (summary["sent"], summary["failed"], summary["rejected"], summary["exit_code"]) == (0, 30, 0, code)
    assert says in stderr
    assert server.url in stderr or code == 4
    statuses = {json.loads(line)["status"] for line in report.read_text().splitlines()}
    assert statuses == {"failed"}
    assert _ledger_count(tmp_path) == 0
    exit_code, summary, stderr = _upload(invoke, api.url, path)
    assert (exit_code, summary["sent"], summary["skipped"]) == (0, 30, 0), stderr
    assert _ledger_count(tmp_path) == 30


# -- redaction of a short token -----------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["t", "any", "bench"])
def test_a_short_token_is_redacted_where_it_stands_not_inside_words(token: str) -> None:
    """A token `t` left `cannoREDACTED open REDACTEDhe delivery ledger`; now words stay whole, and the
    token itself is still replaced wherever it appears on its own (in a URL, quoted, alone)."""
    from snapcapi.send.redact import redact

    words = f"cannot open the ledger, a{token}b and {token}s stay; "
    out = redact(f"{words}?access_token={token}&x=1 '{token}' {token}", [token])
    assert out.startswith(words)
    assert out.endswith("?access_token=REDACTED&x=1 'REDACTED' REDACTED")
