"""Tests of snapcapi.events.times: every notation of `event_time` CLI.md accepts, and the ones it refuses."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snapcapi import spec
from snapcapi.events import times
from snapcapi.events.times import parse_event_time

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z: a fixed "now", so nothing here goes stale
INSTANT = int(datetime(2026, 11, 20, 14, 3, tzinfo=UTC).timestamp())  # 2026-11-20T14:03:00Z
MIDNIGHT = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp())
NEW_YORK_WINTER = timezone(timedelta(hours=-5))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-20T14:03:00Z", INSTANT),
        ("2026-11-20T14:03:00+00:00", INSTANT),
        ("2026-11-20T15:03:00+01:00", INSTANT),
        ("2026-11-20T15:03:00+0100", INSTANT),
        ("2026-11-20T09:03:00-05:00", INSTANT),
        ("2026-11-20T14:03:00.999Z", INSTANT),
        ("20261120T140300Z", INSTANT),
        ("2026-11-20T14:03:00", INSTANT),
        ("2026-11-20 14:03:00", INSTANT),
        ("  2026-11-20T14:03:00Z\t", INSTANT),
    ],
)
def test_iso_8601_is_read_as_unix_seconds(raw: str, expected: int) -> None:
    """ISO 8601 date-times, with or without an offset (UTC by default), become Unix seconds."""
    assert parse_event_time(raw) == expected


def test_date_alone_is_midnight_utc_by_default() -> None:
    """A date without a time is read as midnight in the default time zone, UTC."""
    assert parse_event_time("2026-11-20") == MIDNIGHT


def test_date_alone_is_midnight_in_the_given_timezone() -> None:
    """A date without a time is midnight in `--timezone`: 05:00 UTC for UTC-5."""
    assert parse_event_time("2026-11-20", NEW_YORK_WINTER) == MIDNIGHT + 5 * 3600


def test_time_without_offset_is_read_in_the_given_timezone() -> None:
    """A date-time without an offset is wall-clock time of `--timezone`."""
    assert parse_event_time("2026-11-20T09:03:00", NEW_YORK_WINTER) == INSTANT


def test_explicit_offset_wins_over_the_given_timezone() -> None:
    """An offset written in the value is used, whatever `--timezone` says."""
    assert parse_event_time("2026-11-20T14:03:00Z", NEW_YORK_WINTER) == INSTANT


def test_named_timezone_is_honoured() -> None:
    """A zoneinfo zone works as `--timezone` (America/New_York is UTC-5 in November)."""
    try:
        zone: tzinfo = ZoneInfo("America/New_York")
    except ZoneInfoNotFoundError:
        pytest.skip("no time zone database on this machine")
    assert parse_event_time("2026-11-20T09:03:00", zone) == INSTANT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (str(INSTANT), INSTANT),
        (f" {INSTANT} ", INSTANT),
        (f"+{INSTANT}", INSTANT),
        (f"{INSTANT}.7", INSTANT),
        (str(INSTANT * 1000), INSTANT),
        (str(INSTANT * 1000 + 999), INSTANT),
        (INSTANT, INSTANT),
        (INSTANT * 1000, INSTANT),
        (float(INSTANT) + 0.5, INSTANT),
        (float(INSTANT * 1000), INSTANT),
    ],
    ids=[
        "seconds-text",
        "seconds-padded",
        "seconds-plus-sign",
        "seconds-fraction",
        "ms-text",
        "ms-text-odd",
        "seconds-int",
        "ms-int",
        "seconds-float",
        "ms-float",
    ],
)
def test_unix_seconds_and_milliseconds_are_read(raw: Any, expected: int) -> None:
    """Unix seconds and milliseconds, as text or JSON numbers, become whole Unix seconds."""
    assert parse_event_time(raw) == expected


def test_largest_value_below_the_threshold_is_seconds() -> None:
    """A number just under spec.MILLISECONDS_THRESHOLD is still read as seconds."""
    assert parse_event_time(str(spec.MILLISECONDS_THRESHOLD - 1)) == spec.MILLISECONDS_THRESHOLD - 1


def test_threshold_itself_is_milliseconds() -> None:
    """spec.MILLISECONDS_THRESHOLD and above are read as milliseconds."""
    assert parse_event_time(str(spec.MILLISECONDS_THRESHOLD)) == spec.MILLISECONDS_THRESHOLD // 1000


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("now", NOW),
        ("NOW", NOW),
        ("now-5s", NOW - 5),
        ("now-90m", NOW - 90 * 60),
        ("now-1h", NOW - 3600),
        ("now-2d", NOW - 2 * 86400),
        ("NOW - 2D", NOW - 2 * 86400),
    ],
)
def test_relative_time_is_anchored_at_now(raw: str, expected: int) -> None:
    """`now` and `now-<N><s|m|h|d>` count back from the run's fixed `now`."""
    assert parse_event_time(raw, now=NOW) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("2026-02-30", "'2026-02-30' is not a real date"),
        ("2026-13-01", "'2026-13-01' is not a real date"),
        ("yesterday", "'yesterday' is not a time snapcapi reads"),
        ("2026/11/20", "'2026/11/20' is not a time snapcapi reads"),
        ("20/11/2026", "'20/11/2026' is not a time snapcapi reads"),
        ("now+1d", "'now+1d' is not a time snapcapi reads"),
        ("now-1w", "'now-1w' is not a time snapcapi reads"),
        ("", "'' is not a time snapcapi reads"),
        ("nan", "'nan' is not a time snapcapi reads"),
        ("1.7e12", "'1.7e12' is not a time snapcapi reads"),
        ("0", "a Unix time must be a positive number"),
        ("-5", "a Unix time must be a positive number"),
        (0, "a Unix time must be a positive number"),
        (-1.5, "a Unix time must be a positive number"),
        (float("nan"), "a Unix time must be a positive number"),
        (float("inf"), "a Unix time must be a positive number"),
        (True, "expected a time, got true/false"),
        (None, "expected a time, got NoneType"),
        ([INSTANT], "expected a time, got list"),
        ({"t": INSTANT}, "expected a time, got dict"),
    ],
)
def test_unreadable_time_raises_value_error_with_a_message(raw: Any, message: str) -> None:
    """A value that is not a time raises ValueError whose message says what is wrong."""
    with pytest.raises(ValueError, match="^" + re.escape(message)):
        parse_event_time(raw, now=NOW)


def test_unreadable_time_message_suggests_the_accepted_notations() -> None:
    """The message for an unknown notation lists the ones snapcapi reads."""
    with pytest.raises(ValueError, match="ISO 8601") as caught:
        parse_event_time("next tuesday")
    assert "a date (2026-11-20)" in str(caught.value)
    assert "Unix seconds or milliseconds" in str(caught.value)


def test_long_unreadable_value_is_cut_in_the_message() -> None:
    """The message quotes at most 40 characters of an unreadable value."""
    with pytest.raises(ValueError, match="is not a time") as caught:
        parse_event_time("x" * 200)
    assert "x" * 41 not in str(caught.value)


def test_huge_json_integer_raises_value_error() -> None:
    """A 400-digit JSON integer (json.loads keeps it an int) is refused with ValueError, not a crash."""
    with pytest.raises(ValueError, match="a Unix time must be a positive number"):
        parse_event_time(10**400)


@given(st.text(max_size=40))
def test_any_text_gives_seconds_or_value_error(raw: str) -> None:
    """Whatever the text, parse_event_time returns an int or raises ValueError, nothing else."""
    try:
        result = parse_event_time(raw, now=NOW)
    except ValueError:
        return
    assert isinstance(result, int)


@given(
    head=st.text(alphabet="0123456789\u0661\u0662", min_size=4, max_size=4),
    middle=st.text(alphabet="0123456789-:. +Zznow", min_size=6, max_size=6),
    sep=st.sampled_from("T "),
    tail=st.text(alphabet="0123456789-:. +ZzTdhms", max_size=14),
)
def test_the_date_and_time_shortcut_skips_only_forms_that_cannot_match(
    head: str, middle: str, sep: str, tail: str
) -> None:
    """parse_event_time sends text with a date-and-time shape straight to fromisoformat: no such text is
    a number, a relative time or a date alone, so the other readings never applied to it."""
    text = head + middle + sep + tail
    assert times._NUMBER.fullmatch(text) is None
    assert times._RELATIVE.fullmatch(text) is None
    assert times._DATE.fullmatch(text) is None


@pytest.mark.parametrize(
    ("raw", "zone", "expected"),
    [
        (datetime(2026, 11, 20, 14, 3, tzinfo=UTC), UTC, INSTANT),
        (datetime(2026, 11, 20, 15, 3, tzinfo=timezone(timedelta(hours=1))), NEW_YORK_WINTER, INSTANT),
        (datetime(2026, 11, 20, 9, 3), NEW_YORK_WINTER, INSTANT),
        (datetime(2026, 11, 20, 14, 3), UTC, INSTANT),
        (date(2026, 11, 20), UTC, MIDNIGHT),
        (date(2026, 11, 20), NEW_YORK_WINTER, MIDNIGHT + 5 * 3600),
        (Decimal(INSTANT), UTC, INSTANT),
        (Decimal(INSTANT * 1000 + 999), UTC, INSTANT),
        (Decimal("1795701780.5"), UTC, 1795701780),
    ],
)
def test_typed_values_of_parquet_and_spark_are_read(raw: Any, zone: tzinfo, expected: int) -> None:
    """Timestamps, dates and decimals (what Parquet and Spark columns hold) read as their text would: an
    aware datetime by its offset, a naive one and a date in the given time zone, a Decimal as a number."""
    assert parse_event_time(raw, zone) == expected


@pytest.mark.parametrize("raw", [Decimal("NaN"), Decimal("-1"), Decimal("0"), Decimal("Infinity")])
def test_decimal_that_is_no_positive_number_is_refused(raw: Decimal) -> None:
    """A Decimal is held to the rules of any number: positive and finite."""
    with pytest.raises(ValueError, match=r"^a Unix time must be a positive number"):
        parse_event_time(raw, now=NOW)
