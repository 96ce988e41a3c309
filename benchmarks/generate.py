"""Generate the benchmark's input: an offline-purchases CSV of any size, deterministic for a seed.

    python benchmarks/generate.py OUT.csv --rows 1000000 [--seed 7]

Columns: event_name, event_time, event_id, email, phone, first_name, last_name, zip, country, value,
currency, order_id. Phone numbers and emails are unique per row (so nothing can be cached across rows);
phones mix US national formats (read with the default region US) and international ones, `+` and `00`
prefixes included. Names, zips, countries and currencies repeat, as they do in real exports. Event times
are spread over the 6 days before `now`, inside Snap's window, so every row is valid.
"""

from __future__ import annotations

import argparse
import csv
import random
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

COLUMNS = (
    "event_name",
    "event_time",
    "event_id",
    "email",
    "phone",
    "first_name",
    "last_name",
    "zip",
    "country",
    "value",
    "currency",
    "order_id",
)

_FIRST = (
    "Olivia Noah Emma Liam Ava Elijah Sophia James Isabella William Mia Benjamin Charlotte Lucas Amelia "
    "Henry Harper Alexander Evelyn Mason Abigail Michael Emily Ethan Elizabeth Daniel Sofia Jacob Avery "
    "Logan Ella Jackson Scarlett Sebastian Grace Jack Chloe Aiden Victoria Owen Riley Samuel Aria Matthew "
    "Lily Joseph Aubrey Levi Zoey David Penelope John Lillian Wyatt Addison Carter Layla Julian Natalie "
    "Luke Camila Grayson Hannah Isaac Brooklyn Jayden Zoë Raphaël Chloé José Mary-Jane Anne-Marie Björn "
    "Søren François Ángel Łukasz Jürgen Noémie"
).split()
_LAST = [
    *(
        "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
        "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
        "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
        "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts O'Brien McDonald Müller Dubois Rossi "
        "García Núñez D'Angelo Żółć Øvergård"
    ).split(),
    "van der Berg",
    "St. John",
    "Smith-Jones",
]
_DOMAINS = ("example.com", "Example.org", "mail.example.net", "shop.example", "EXAMPLE.co.uk")
_US_AREAS = ("212", "415", "646", "312", "213", "305", "404", "617", "702", "206", "512", "303")
_US_ZIPS = tuple(f"{z:05d}" for z in range(10001, 99999, 97))
_SEPARATORS = ("-", ".", " ")


def _us_phone(i: int, rng: random.Random) -> str:
    area = _US_AREAS[(i // 8_000_000) % len(_US_AREAS)]
    exchange = f"{200 + (i // 10_000) % 800:03d}"
    line = f"{i % 10_000:04d}"
    style = rng.randrange(9)
    if style == 0:
        return f"({area}) {exchange}-{line}"
    if style == 1:
        return f"{area}-{exchange}-{line}"
    if style == 2:
        return f"{area}.{exchange}.{line}"
    if style == 3:
        return f"{area}{exchange}{line}"
    if style == 4:
        return f"+1 {area}-{exchange}-{line}"
    if style == 5:
        return f"+1{area}{exchange}{line}"
    if style == 6:
        return f"1 ({area}) {exchange}-{line}"
    if style == 7:
        return f" {area} {exchange} {line} "
    return f"001 {area} {exchange} {line}"


def _gb_phone(i: int, rng: random.Random) -> str:
    digits = f"{i % 100_000_000:08d}"
    prefix = rng.choice(("+44 20 ", "+4420", "0044 20 ", "+44 (0)20 "))
    return f"{prefix}{digits[:4]} {digits[4:]}"


def _fr_phone(i: int, rng: random.Random) -> str:
    digits = f"{i % 100_000_000:08d}"
    pairs = " ".join(digits[k : k + 2] for k in range(0, 8, 2))
    return rng.choice(("+33 1 ", "0033 1 ", "+33 (0)1 ")) + pairs


def _de_phone(i: int, rng: random.Random) -> str:
    digits = f"{i % 100_000_000:08d}"
    return rng.choice(("+49 30 ", "+49-30-", "0049 30 ")) + digits


def _it_phone(i: int, rng: random.Random) -> str:
    digits = f"{i % 100_000_000:08d}"
    return rng.choice(("+39 06 ", "+39 06-", "0039 06 ")) + f"{digits[:4]} {digits[4:]}"


# (phone maker, countries as exports write them, postal codes, currencies, weight)
_MARKETS: tuple[
    tuple[Callable[[int, random.Random], str], tuple[str, ...], tuple[str, ...], str, int], ...
] = (
    (_us_phone, ("US", "USA", "United States", "us"), _US_ZIPS, "USD", 70),
    (_gb_phone, ("GB", "United Kingdom", "GBR"), ("SW1A 1AA", "EC1A 1BB", "W1A 0AX", "M1 1AE"), "GBP", 10),
    (_fr_phone, ("FR", "France"), ("75008", "69001", "13001", "31000"), "EUR", 8),
    (_de_phone, ("DE", "Germany", "DEU"), ("10115", "80331", "20095"), "EUR", 7),
    (_it_phone, ("IT", "Italy"), ("00184", "20121", "50122"), "EUR", 5),
)
_MARKET_WEIGHTS = tuple(m[4] for m in _MARKETS)


def rows(
    count: int, seed: int = 7, now: float | None = None, *, uuid_ids: bool = False
) -> Iterator[tuple[str, ...]]:
    """Yield `count` data rows (without the header), the same ones for the same seed and `now`; event ids
    `evt-000000001`..., or random UUIDs (`uuid_ids`: what many exports have; the other values unchanged)."""
    ids = random.Random(seed + 1)
    rng = random.Random(seed)
    now = time.time() if now is None else now
    for i in range(count):
        phone_of, countries, zips, currency, _ = rng.choices(_MARKETS, _MARKET_WEIGHTS)[0]
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        domain = rng.choice(_DOMAINS)
        local = f"{first}.{last}".replace(" ", "").replace("'", "")
        email = f"{local}{i}@{domain}" if rng.random() < 0.9 else f"  {local.upper()}{i}@{domain} "
        zip_code = rng.choice(zips)
        if zips is _US_ZIPS and rng.random() < 0.2:
            zip_code += f"-{rng.randrange(10_000):04d}"
        when = datetime.fromtimestamp(now - rng.uniform(600, 6 * 86400), UTC)
        yield (
            rng.choice(("PURCHASE", "PURCHASE", "PURCHASE", "purchase", "Order Completed")),
            when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            str(uuid.UUID(int=ids.getrandbits(128), version=4)) if uuid_ids else f"evt-{i:09d}",
            email,
            phone_of(i, rng),
            first if rng.random() < 0.8 else f" {first.upper()} ",
            last,
            zip_code,
            rng.choice(countries),
            f"{rng.uniform(1, 500):.2f}",
            currency if rng.random() < 0.9 else currency.lower(),
            f"POS-{i:09d}",
        )


def generate(
    path: Path, count: int, seed: int = 7, now: float | None = None, *, uuid_ids: bool = False
) -> Path:
    """Write the header and `count` rows to `path` and return it (`uuid_ids` as for `rows`)."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows(rows(count, seed, now, uuid_ids=uuid_ids))
    return path


def main() -> None:
    """Command line: write the file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--uuid-ids", action="store_true", help="random UUIDs as event ids")
    args = parser.parse_args()
    generate(args.out, args.rows, args.seed, uuid_ids=args.uuid_ids)


if __name__ == "__main__":
    main()
