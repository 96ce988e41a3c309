"""The pipelines snapcapi is compared with, each doing the benchmark file's rows in one process.

    python benchmarks/peers.py sdk FILE [LIMIT]        Snap's official Python SDK (snap-business-sdk)
    python benchmarks/peers.py minimal FILE [LIMIT]    csv + phonenumbers + hashlib + json, nothing else

Each prints one JSON line: {"rows": N, "seconds": S}, S being the time spent on the rows (imports and
interpreter start-up excluded; the runner measures the whole process too). Run them with the Python of a
virtual environment made from `benchmarks/requirements.txt`: the SDK is not a dependency of snapcapi.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from itertools import islice
from typing import Any

import phonenumbers
from generate import COLUMNS  # this directory is on sys.path: peers.py runs as a script


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rows(path: str, limit: int | None) -> Iterator[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as file:
        yield from islice(csv.DictReader(file), limit)


def minimal(path: str, limit: int | None = None) -> int:
    """The least a correct uploader does: parse each phone to E.164, hash, encode. No checks at all."""
    count = 0
    sink = 0
    with open(path, newline="", encoding="utf-8") as file:
        reader = csv.reader(file)
        at = {name: i for i, name in enumerate(next(reader))}
        name, time_, id_, email, phone, first, last, zip_, country, value, currency, order = (
            at[c] for c in COLUMNS
        )
        for row in islice(reader, limit):
            number = phonenumbers.parse(row[phone].strip(), "US")
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
            event = {
                "event_name": row[name],
                "event_time": row[time_],
                "event_id": row[id_],
                "action_source": "OFFLINE",
                "user_data": {
                    "em": [_sha(row[email].strip().lower())],
                    "ph": [_sha(e164)],
                    "fn": _sha(row[first].strip().lower()),
                    "ln": _sha(row[last].strip().lower()),
                    "zp": _sha(row[zip_].strip().lower()),
                    "country": _sha(row[country].strip().lower()),
                },
                "custom_data": {
                    "value": float(row[value]),
                    "currency": row[currency].strip().upper(),
                    "order_id": row[order],
                },
            }
            sink += len(json.dumps(event, separators=(",", ":")))
            count += 1
    return count


def sdk(path: str, limit: int | None = None) -> int:
    """Snap's SDK: one `ConversionEvent` a row (it normalizes and hashes), serialized as the SDK sends it."""
    from snap_business_sdk.api_client import ApiClient
    from snap_business_sdk.public.conversion_event import ConversionEvent

    serialize: Callable[[Any], Any] = ApiClient.sanitize_for_serialization
    count = 0
    sink = 0
    for row in _rows(path, limit):
        millis = int(datetime.fromisoformat(row["event_time"]).timestamp() * 1000)
        event = ConversionEvent(
            pixel_id="bench",
            event_type="PURCHASE",
            event_conversion_type="OFFLINE",
            timestamp=str(millis),
            email=row["email"],
            phone_number=row["phone"],
            first_name=row["first_name"],
            last_name=row["last_name"],
            zip=row["zip"],
            price=row["value"],
            currency=row["currency"],
            transaction_id=row["order_id"],
            client_dedup_id=row["event_id"],
        )
        sink += len(json.dumps(serialize(event.getCapiEvent()), separators=(",", ":")))
        count += 1
    return count


def main() -> None:
    """Command line: `peers.py sdk|minimal FILE [LIMIT]`."""
    which, path = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else None
    started = time.perf_counter()
    count = {"sdk": sdk, "minimal": minimal}[which](path, limit)
    print(json.dumps({"rows": count, "seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
