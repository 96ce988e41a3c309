"""Tests of snapcapi.dedupe.SeenIds: the first row with an (asset, event_id) wins; later ones repeat it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapcapi.run.dedupe import SeenIds


@pytest.fixture
def seen() -> Iterator[SeenIds]:
    """A fresh SeenIds, closed after the test."""
    ids = SeenIds()
    yield ids
    ids.close()


def test_new_ids_have_not_been_seen(seen: SeenIds) -> None:
    """Ids never seen before give None."""
    assert seen.first_seen("a.csv", [("PIXEL-1", "e1", 2), ("PIXEL-1", "e2", 3)]) == [None, None]


def test_id_seen_in_an_earlier_call_gives_where_it_was_first(seen: SeenIds) -> None:
    """An id repeated in a later chunk gives the file and line of its first row."""
    seen.first_seen("a.csv", [("PIXEL-1", "e1", 2)])
    assert seen.first_seen("b.csv", [("PIXEL-1", "e1", 7)]) == [("a.csv", 2)]


def test_id_repeated_within_one_call_gives_where_it_was_first(seen: SeenIds) -> None:
    """An id repeated inside one chunk gives the first item's file and line."""
    items = [("PIXEL-1", "e1", 2), ("PIXEL-1", "e2", 3), ("PIXEL-1", "e1", 4)]
    assert seen.first_seen("a.csv", items) == [None, None, ("a.csv", 2)]


def test_every_later_repeat_points_to_the_first_row(seen: SeenIds) -> None:
    """The third occurrence points to the first, not the second."""
    seen.first_seen("a.csv", [("PIXEL-1", "e1", 2), ("PIXEL-1", "e1", 3)])
    assert seen.first_seen("a.csv", [("PIXEL-1", "e1", 9)]) == [("a.csv", 2)]


def test_same_id_for_another_asset_is_not_a_duplicate(seen: SeenIds) -> None:
    """Snap deduplicates per asset, so the same event id for two assets is two events."""
    items = [("PIXEL-1", "e1", 2), ("SNAP-APP-1", "e1", 3)]
    assert seen.first_seen("a.csv", items) == [None, None]


def test_asset_and_id_are_not_confused_by_concatenation(seen: SeenIds) -> None:
    """("P1", "x") and ("P", "1x") are different keys."""
    assert seen.first_seen("a.csv", [("P1", "x", 2), ("P", "1x", 3)]) == [None, None]


def test_empty_call_gives_an_empty_list(seen: SeenIds) -> None:
    """No items, no answers."""
    assert seen.first_seen("a.csv", []) == []


def test_many_ids_are_answered_across_chunks(seen: SeenIds) -> None:
    """Thousands of ids (more than one SQL query takes) are all remembered and looked up."""
    first = [("PIXEL-1", f"e{n}", n + 2) for n in range(1500)]
    assert seen.first_seen("a.csv", first) == [None] * 1500
    again = [("PIXEL-1", f"e{n}", n + 2) for n in range(0, 3000, 2)]
    expected = [("a.csv", n + 2) if n < 1500 else None for n in range(0, 3000, 2)]
    assert seen.first_seen("b.csv", again) == expected


def test_two_instances_do_not_share_what_they_saw() -> None:
    """Each run has its own private memory of ids."""
    first, second = SeenIds(), SeenIds()
    try:
        first.first_seen("a.csv", [("PIXEL-1", "e1", 2)])
        assert second.first_seen("a.csv", [("PIXEL-1", "e1", 2)]) == [None]
    finally:
        first.close()
        second.close()


def test_the_same_file_read_twice_repeats_every_row(seen: SeenIds) -> None:
    """A file named twice on the command line: its second pass repeats the first, line for line."""
    rows = [("PIXEL-1", f"e{n}", n + 2) for n in range(5)]
    assert seen.first_seen("a.csv", rows) == [None] * 5
    assert seen.first_seen("a.csv", rows) == [("a.csv", n + 2) for n in range(5)]


# Ids that JSON escapes, or that SQLite's JSON reader would cut short (NUL), besides plain ones.
_IDS = [f"e{n}" for n in range(8)] + ["a\x00b", "a", 'q"', "back\\slash", "caf\u00e9", "\U0001f600", ""]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["f0.csv", "f1.csv"]),
            st.lists(
                st.tuples(st.sampled_from(["P1", "P2"]), st.sampled_from(_IDS), st.integers(1, 3)), max_size=8
            ),
        ),
        max_size=6,
    )
)
def test_answers_are_those_of_a_dictionary_of_first_places(
    calls: list[tuple[str, list[tuple[str, str, int]]]],
) -> None:
    """Any sequence of calls, repeats within and across them, lines in a row or with gaps (invalid rows
    between): the first place of each (asset, id)."""
    seen = SeenIds()
    first: dict[tuple[str, str], tuple[str, int]] = {}
    try:
        line = 1
        for file, call in calls:
            items = []
            for asset, event_id, step in call:
                line += step
                items.append((asset, event_id, line))
            expected = []
            for asset, event_id, at in items:
                expected.append(first.get((asset, event_id)))
                first.setdefault((asset, event_id), (file, at))
            assert seen.first_seen(file, items) == expected
    finally:
        seen.close()
