"""Phone numbers written without a country code are read in the row's own country (any form the country
field takes), and in the default region only when the row names none; the data-quality summary counts
those read in the default region."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from snapcapi.cli.app import app
from snapcapi.events.build import DEFAULT_REGION_PHONE, Assembled, BuildContext, Invalid, assemble
from snapcapi.events.identifiers import sha256_hex
from snapcapi.events.phone import has_country_code, region_of_country
from snapcapi.spec import ActionSource

NOW = 1_800_000_000
CTX = BuildContext(now=NOW, pixel_id="PIXEL-1", default_action_source=ActionSource.OFFLINE)
REFERENCE = BuildContext(now=NOW, pixel_id="PIXEL-1", default_action_source=ActionSource.OFFLINE, fast=False)


def assembled(ctx: BuildContext = CTX, **values: Any) -> Assembled:
    """An OFFLINE PURCHASE row with `values`, built; fails the test when it is invalid."""
    made = assemble(
        {"event_name": "PURCHASE", "event_time": str(NOW - 3600), "value": "1", "currency": "EUR", **values},
        ctx,
    )
    assert isinstance(made, Assembled), made
    return made


@pytest.mark.parametrize("ctx", [CTX, REFERENCE], ids=["fast", "reference"])
@pytest.mark.parametrize(
    ("phone", "country", "e164"),
    [
        ("06 12 34 56 78", "FR", "33612345678"),
        ("06 12 34 56 78", "fr", "33612345678"),
        ("06 12 34 56 78", "FRA", "33612345678"),
        ("06 12 34 56 78", "France", "33612345678"),
        ("020 7946 0018", "United Kingdom", "442079460018"),
        ("020 7946 0018", "GB", "442079460018"),
        ("020 7946 0018", "UK", "442079460018"),
        ("030 123456", "Germany", "4930123456"),
        ("06 1234 5678", "Italy", "390612345678"),  # Italy keeps its leading zero
        ("(416) 555-0123", "Canada", "14165550123"),
        ("(415) 555-0123", "United States", "14155550123"),
        ("+1 415 555 0123", "France", "14155550123"),  # a country code wins over the row's country
        ("0033 6 12 34 56 78", "US", "33612345678"),
    ],
)
def test_a_national_number_is_read_in_the_rows_own_country(
    phone: str, country: str, e164: str, ctx: BuildContext
) -> None:
    """`06 12 34 56 78` with country FR is +33 6 12 34 56 78, not the US number 1 0612345678."""
    made = assembled(ctx, phone=phone, country=country)
    assert made.payload["user_data"]["ph"] == [sha256_hex(e164)]
    assert DEFAULT_REGION_PHONE not in made.user_keys


def test_a_row_without_country_reads_its_number_in_the_default_region() -> None:
    """Without a country, `--default-region` applies, and the row is marked for the quality summary."""
    fr = BuildContext(now=NOW, pixel_id="P", default_action_source=ActionSource.OFFLINE, default_region="FR")
    made = assembled(fr, phone="06 12 34 56 78")
    assert made.payload["user_data"]["ph"] == [sha256_hex("33612345678")]
    assert made.user_keys == ("ph", DEFAULT_REGION_PHONE)


def test_an_unknown_country_leaves_the_number_to_the_default_region() -> None:
    """A country snapcapi cannot read (dropped with its own warning) gives the default region."""
    made = assembled(phone="(415) 555-0123", country="Narnia")
    assert made.payload["user_data"]["ph"] == [sha256_hex("14155550123")]
    assert made.user_keys == ("ph", DEFAULT_REGION_PHONE)
    assert [w.field for w in made.warnings] == ["country"]


def test_a_country_without_a_numbering_plan_leaves_the_number_to_the_default_region() -> None:
    """Antarctica is a country (its state would be read there) but has no phone numbers of its own: the
    number is read in the default region, not refused."""
    made = assembled(phone="(415) 555-0123", country="Antarctica")
    assert made.payload["user_data"]["ph"] == [sha256_hex("14155550123")]
    assert made.user_keys == ("ph", "country", DEFAULT_REGION_PHONE)


@pytest.mark.parametrize(
    "phone",
    ["+33 6 12 34 56 78", "0033 6 12 34 56 78", sha256_hex("33612345678"), sha256_hex("33612345678").upper()],
)
def test_numbers_that_need_no_region_are_not_counted(phone: str) -> None:
    """International numbers and hashed ones do not depend on the default region: not counted."""
    assert DEFAULT_REGION_PHONE not in assembled(phone=phone).user_keys


def test_a_list_of_phones_reads_each_in_the_rows_country() -> None:
    """Several numbers in one cell are each read in the row's country."""
    made = assembled(phone="06 12 34 56 78|+44 20 7946 0018", country="France")
    assert made.payload["user_data"]["ph"] == [sha256_hex("33612345678"), sha256_hex("442079460018")]


def test_an_invalid_row_is_counted_too() -> None:
    """The quality counts cover every readable row: an invalid row keeps the mark."""
    made = assemble({"event_name": "PURCHASE", "event_time": str(NOW), "phone": "(415) 555-0123"}, CTX)
    assert isinstance(made, Invalid)
    assert made.user_keys == ("ph", DEFAULT_REGION_PHONE)


@pytest.mark.parametrize(
    ("country", "region"),
    [
        ("FR", "FR"),
        ("fra", "FR"),
        ("France", "FR"),
        (" united kingdom ", "GB"),
        ("Narnia", None),
        ("AQ", None),
    ],
)
def test_region_of_country(country: str, region: str | None) -> None:
    """Any form of a country gives its phonenumbers region; Antarctica has no numbering plan: None."""
    assert region_of_country(country) == region


@pytest.mark.parametrize(
    ("text", "expected"),
    [("+33 6", True), ("  +33", True), ("0033 6", True), ("06 12", False), ("1 415", False)],
)
def test_has_country_code(text: str, expected: bool) -> None:
    """Only `+` or `00` says a number's country."""
    assert has_country_code(text) is expected


def test_validate_counts_the_numbers_read_in_the_default_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data-quality summary says how many rows had a number read in --default-region: in `--json`,
    and as a line of the human table."""
    monkeypatch.setenv("COLUMNS", "100")
    path = tmp_path / "abroad.csv"
    path.write_text(
        "event_name,event_time,event_id,phone,country,value,currency\n"
        "PURCHASE,now-1h,a1,06 12 34 56 78,France,10,EUR\n"
        "PURCHASE,now-1h,a2,(415) 555-0123,,10,USD\n"
        "PURCHASE,now-1h,a3,+44 20 7946 0018,,10,GBP\n"
        "PURCHASE,now-1h,a4,020 7946 0018,United Kingdom,10,GBP\n",
        encoding="utf-8",
    )
    args = ["validate", str(path), "--conversion-type", "OFFLINE", "--pixel-id", "P"]
    result = CliRunner().invoke(app, [*args, "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["valid"], summary["quality"]["phones_in_default_region"]) == (4, 1)
    human = CliRunner().invoke(app, args)
    assert "\n phone read in default region │    1 │   25% \n" in human.stderr


def test_hash_phone_reads_a_national_number_in_the_country_given() -> None:
    """`snapcapi hash phone VALUE --country France` shows the number as the row's country reads it."""
    result = CliRunner().invoke(app, ["hash", "phone", "06 12 34 56 78", "--country", "France"])
    assert result.exit_code == 0
    assert result.stdout == (
        "field       phone (user_data.ph)\n"
        "read in     FR (--country: the number has no country code)\n"
        "normalized  33612345678\n"
        f"sha256      {sha256_hex('33612345678')}\n"
    )


def test_hash_phone_says_when_the_default_region_read_it() -> None:
    """Without --country, a national number is read in --default-region, and the output says so."""
    result = CliRunner().invoke(app, ["hash", "phone", "(415) 555-0123"])
    assert result.exit_code == 0
    read_in = "read in     US (--default-region: the number has no country code)"
    assert result.stdout.splitlines()[1] == read_in


def test_hash_with_an_unknown_country_is_a_usage_error() -> None:
    """A --country snapcapi cannot read stops with exit 2 and says which."""
    result = CliRunner().invoke(app, ["hash", "phone", "06 12 34 56 78", "--country", "Narnia"])
    assert result.exit_code == 2
    assert result.stderr == "error: --country 'Narnia' is not a country with phone numbers\n"
