"""Countries, subdivisions and currencies from pycountry: states in their row's country, codes and names."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from snapcapi import spec
from snapcapi.events import places
from snapcapi.events.build import BuildContext, build
from snapcapi.events.identifiers import normalize, sha256_hex
from snapcapi.model import Event

NOW = 1_800_000_000
CTX = BuildContext(now=NOW, pixel_id="PIXEL-1")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("Québec", "CA", "qc"),
        ("QUEBEC", "CA", "qc"),
        ("QC", "CA", "qc"),
        ("Ontario", "CA", "on"),
        ("Bayern", "DE", "by"),
        ("BY", "de", "by"),
        ("Scotland", "GB", "sct"),
        ("Île-de-France", "FR", "idf"),
        ("CA-QC", "US", "qc"),
        ("us-ny", "DE", "ny"),
        ("California", "US", "ca"),
        ("California", "DE", "ca"),
        ("Washington, D.C.", "US", "dc"),
        ("Armed Forces Europe", "US", "ae"),
        ("Ontario", "US", "ontario"),
        ("Bavaria", "DE", "bavaria"),
    ],
)
def test_state_is_its_iso_3166_2_code_in_the_region(raw: str, region: str, expected: str) -> None:
    """A subdivision's code or name in the given country gives its code without the prefix; a full code
    gives its own; US names work anywhere; anything else is squeezed like a city."""
    assert normalize("state", raw, region) == expected


def _state(ctx: BuildContext, **values: str) -> str:
    row = {"event_name": "PAGE_VIEW", "event_time": str(NOW - 3600), "email": "a@example.com"}
    row |= {"event_source_url": "https://shop.example/", **values}
    event = build(row, "events.csv", 2, ctx)
    assert isinstance(event, Event), event.errors
    state: str = event.payload["user_data"]["st"]
    return state


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
@pytest.mark.parametrize(
    ("country", "state", "expected"),
    [
        ("Canada", "Québec", "qc"),
        ("CA", "Ontario", "on"),
        ("DEU", "Bayern", "by"),
        ("United States", "new york", "ny"),
        ("Atlantis", "Texas", "tx"),  # no country known: the default region, US
        ("UM", "Johnston Atoll", "67"),  # a country with subdivisions but no numbering plan of its own
    ],
)
def test_a_rows_state_is_read_in_the_rows_country(
    country: str, state: str, expected: str, fast: bool
) -> None:
    """The row's country decides whose subdivisions its state is, by both build paths."""
    ctx = replace(CTX, fast=fast)
    assert _state(ctx, country=country, state=state) == sha256_hex(expected)


def test_without_a_country_the_state_is_read_in_the_default_region() -> None:
    """A row with no country reads its state in --default-region."""
    assert _state(replace(CTX, default_region="CA"), state="Québec") == sha256_hex("qc")
    assert _state(CTX, state="Québec") == sha256_hex("québec")


def test_currencies_are_iso_4217_money() -> None:
    """Current codes, and lately withdrawn ones, are currencies; funds, metals and test codes are not."""
    codes = spec.currency_codes()
    assert {"USD", "EUR", "JPY", "XCG", "ZWG", "VED", "XOF", "BGN", "ANG"} <= codes
    assert codes.isdisjoint({"XAU", "XTS", "XXX", "XDR", "USN", "usd"})


def test_country_codes_are_every_iso_3166_1_country() -> None:
    """pycountry's 249 countries, by alpha-2 and alpha-3."""
    assert len(places.country_alpha3()) == 249
    assert places.country_alpha3()["de"] == "deu"


def test_importing_places_loads_no_table() -> None:
    """pycountry is imported when a place is first looked up, not with the module."""
    code = "import snapcapi.events.places, sys; print('pycountry' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
