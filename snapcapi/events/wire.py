"""JSON on the wire: how an event and a request body are encoded, in one place.

Each event is encoded once, where it is built (in a worker process, when there are several); a request
body is then the events' bytes joined, never a re-encoding of them:

    encode_json(payload) -> bytes                  compact UTF-8 JSON, as snapcapi sends it
    encode_event(payload) -> bytes                 the same bytes for an event `events.build` made, faster
    join_body([encoded, ...], test_event_code)     == encode_json(build_body([payload, ...], code))
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from json import encoder as _json_encoder
from typing import Any

import orjson

_SEPARATORS = (",", ":")
_ENCODER = json.JSONEncoder(separators=_SEPARATORS, ensure_ascii=False)


def _refuse(value: object) -> object:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _one_shot_encoder() -> Callable[[object], str]:
    """JSONEncoder.encode, without making its C encoder anew on every call (a third of the time taken)."""
    make: Callable[..., Callable[[object, int], Sequence[str]]] | None = getattr(
        _json_encoder, "c_make_encoder", None
    )
    if make is None:  # no C accelerator: the pure-Python encoder, made per call as json.dumps does
        return _ENCODER.encode
    # The arguments JSONEncoder.iterencode gives it for these settings, except the circular-reference
    # markers: payloads are trees made here, never cyclic.
    encode_c = make(
        None,
        _refuse,
        _json_encoder.encode_basestring,
        None,
        _SEPARATORS[1],
        _SEPARATORS[0],
        False,
        False,
        True,
    )

    def encode(value: object) -> str:
        if isinstance(value, str):  # JSONEncoder.encode special-cases a bare string the same way
            return _ENCODER.encode(value)
        return "".join(encode_c(value, 0))

    return encode


_encode = _one_shot_encoder()


def encode_json(value: object) -> bytes:
    """Return `value` as the compact UTF-8 JSON snapcapi sends (also used to measure events' sizes).

    The same bytes as `json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")`.
    Raises TypeError for a value JSON cannot hold, as json.dumps does, and UnicodeEncodeError for a lone
    surrogate.
    """
    return _encode(value).encode("utf-8")


def encode_event(payload: Mapping[str, Any]) -> bytes:
    """Return `encode_json(payload)` for an event payload as `events.build` makes it, by orjson (several
    times faster) wherever orjson writes the same bytes as json.

    They differ only on floats: orjson writes 0.00001 where json writes 1e-05, and null for NaN. An event's
    floats are its `custom_data.value` (checked finite and not negative) and what `contents` passes on
    from the input; events with a value below 1e-4 or with `contents` are encoded by json, as are values
    orjson refuses (integers past 64 bits, lone surrogates), which json then encodes or refuses itself.
    """
    custom = payload.get("custom_data")
    if custom is not None and ("contents" in custom or _written_apart(custom.get("value"))):
        return encode_json(payload)
    try:
        return orjson.dumps(payload)
    except TypeError:
        return encode_json(payload)


def _written_apart(value: object) -> bool:
    """True for a float orjson and json write differently (tiny, or not finite)."""
    return type(value) is float and value != 0 and not (1e-4 <= abs(value) < math.inf)


def build_body(data: Sequence[Mapping[str, Any]], test_event_code: str | None = None) -> dict[str, Any]:
    """Return the JSON body of one request: `{"data": [...]}`, plus `test_event_code` when given."""
    body: dict[str, Any] = {"data": list(data)}
    if test_event_code:
        body["test_event_code"] = test_event_code
    return body


def join_body(events: Sequence[bytes], test_event_code: str | None = None) -> bytes:
    """Return the encoded body of one request from its events' encoded JSON.

    The same bytes as `encode_json(build_body(payloads, test_event_code))` for the payloads `events` hold.
    """
    head = b'{"data":['
    tail = b"]}" if not test_event_code else b'],"test_event_code":' + encode_json(test_event_code) + b"}"
    if not events:
        return head + tail
    # One join, the head and tail stuck to the first and last events: a body is up to 2 MB, and adding
    # them to the joined bytes would copy it twice more.
    parts = list(events)
    parts[0] = head + parts[0]
    parts[-1] = parts[-1] + tail
    return b",".join(parts)
