"""Snap's answers (SPEC section 6) read into `Answer`s: what a response says, redacted, and nothing more.

Deciding what an answer means for each row is `delivery`'s job; telling an answer from Snap apart from
something else that answered (a proxy, a portal, a wrong URL) starts here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = [
    "REASON_CHARS",
    "Answer",
    "EventLog",
    "cut_off",
    "json_object",
    "read_answer",
    "snap_status",
    "snippet",
]

# At most this many characters of an answer's own text go into a message.
REASON_CHARS = 200


@dataclass(frozen=True, slots=True)
class EventLog:
    """One entry of `/events/validate`'s `event_logs`: the verdict on the event at `index` of the request."""

    index: int
    status: str
    errors: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """Snap's answer to one request that reached a verdict (2xx, or a 4xx other than 401/403/429)."""

    status_code: int
    status: str | None
    reason: str
    event_index: int | None
    error_messages: tuple[str, ...]
    event_logs: tuple[EventLog, ...] = ()

    @property
    def ok(self) -> bool:
        """True when Snap took the request (HTTP 2xx)."""
        return 200 <= self.status_code < 300


def read_answer(
    response: httpx.Response, redact: Callable[[str], str], body: dict[str, Any] | None = None
) -> Answer:
    """Return what `response` says, every text passed through `redact`; `body` is its JSON object when
    the caller has read it already."""
    if body is None:
        body = json_object(response)
    if not body:
        text = redact(response.text.strip())[:REASON_CHARS]
        return Answer(response.status_code, None, text or f"HTTP {response.status_code}", None, ())
    status = body.get("status")
    reason = redact(str(body.get("reason") or "")) or f"HTTP {response.status_code}"
    logs = body.get("event_logs")
    return Answer(
        status_code=response.status_code,
        status=status if isinstance(status, str) else None,
        reason=reason,
        event_index=_index(body.get("event")),
        error_messages=tuple(redact(m) for m in _messages(body.get("errors"))),
        event_logs=tuple(_event_logs(logs, redact)) if isinstance(logs, list) else (),
    )


def json_object(response: httpx.Response) -> dict[str, Any]:
    """Return the answer's JSON object, or {} when the body is not one."""
    try:
        body = response.json()
    except ValueError:  # JSONDecodeError and undecodable bytes alike
        return {}
    return body if isinstance(body, dict) else {}


def snap_status(body: dict[str, Any]) -> str | None:
    """Return the `status` of an answer in Snap's shape (upper case), or None when it has none.

    Snap's success is HTTP 200 with `{"status": "VALID"}`, its refusal `{"status": "INVALID", ...}`
    (SPEC section 6): an answer without a `status` string is not Snap's, whatever its HTTP code.
    """
    status = body.get("status")
    return status.upper() if isinstance(status, str) else None


def cut_off(response: httpx.Response) -> bool:
    """True when the body starts as JSON but does not parse: an answer cut short on the way."""
    head = response.content[:64].lstrip()
    return head[:1] in (b"{", b"[") and not _parses(response)


def snippet(response: httpx.Response, redact: Callable[[str], str], chars: int = 80) -> str:
    """The start of an answer's text on one line, redacted, for an error message."""
    text = " ".join(response.text[: chars * 4].split())
    text = redact(text)
    return text[:chars] + ("..." if len(text) > chars else "")


def _parses(response: httpx.Response) -> bool:
    try:
        response.json()
    except ValueError:
        return False
    return True


def _event_logs(logs: list[Any], redact: Callable[[str], str]) -> Iterable[EventLog]:
    for entry in logs:
        index = _index(entry.get("event")) if isinstance(entry, dict) else None
        if index is None:
            continue
        yield EventLog(
            index=index,
            status=str(entry.get("status") or ""),
            errors=tuple(redact(m) for m in _messages(entry.get("errors"))),
            warnings=tuple(redact(m) for m in _messages(entry.get("warnings"))),
        )


def _index(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _messages(value: object) -> Iterable[str]:
    """Messages from Snap's `errors` ({"codes": [...], "error_msgs": [...]}) or a plain list."""
    if isinstance(value, dict):
        value = value.get("error_msgs") or value.get("messages") or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(item if isinstance(item, str) else json.dumps(item, ensure_ascii=False) for item in value)
