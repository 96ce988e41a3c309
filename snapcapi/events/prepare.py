"""How each input is read, decided once it is open: the export it is, and how its numbers and dates are
written; and the rows of a recognized export, prepared in the reading process.

    notes = plan_source(source, mapper, ctx, options)   sets source.preset, .readings, .timezone; raises
    prepared_rows(source, rows, mapper, ctx)           (row as read, row of field values) per row
    apply_readings(values, readings)                   rewrites a row's number and date fields in place

A recognized export's rows are read here, in the process that reads the file, since an order's line items
span rows; each comes out as a `Row` whose data are canonical field values (or `NOT_AN_EVENT` and why),
which the chunk builder takes as they are. Other files are mapped column by column in the workers, with
their `readings` applied there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from snapcapi.errors import ConfigError, InputError
from snapcapi.events.build import BuildContext
from snapcapi.events.mapping import Mapper
from snapcapi.model import NOT_AN_EVENT, Row
from snapcapi.read.open import Source
from snapcapi.read.presets import Context, Preset, google_timezone, recognize
from snapcapi.read.presets.base import first_filled, is_totals_label
from snapcapi.read.values import (
    Ambiguous,
    DateReading,
    NumberReading,
    decide_date,
    decide_number,
    read_date,
    read_number,
)
from snapcapi.spec import fold, lookup_event_name

# The fields read per column as numbers or dates.
NUMBER_FIELDS: Final = ("value",)
DATE_FIELDS: Final = ("event_time", "date_of_birth")
# Fields that say who: a row with none of them and no id is no event (a totals row, when labelled so).
_WHO: Final = ("email", "phone", "madid", "ip_address", "external_id", "order_id", "event_id")
Reading = NumberReading | DateReading


@dataclass(frozen=True, slots=True)
class ReadingOptions:
    """What the user said about reading: `preset` ("auto", "none" or a name), and forced readings."""

    preset: str = "auto"
    date_format: str | None = None  # a strptime pattern for every date field
    decimal_comma: bool | None = None  # True: `12,50`; False: `12.50`; None: decided per column

    @classmethod
    def of(
        cls, preset: str | None, date_format: str | None, decimal_comma: bool | None, settings: dict[str, str]
    ) -> ReadingOptions:
        """The options given, else the mapping file's `[settings]` (`preset`, `date_format`,
        `decimal_comma`). Raises ConfigError for a value that is not one."""
        preset = preset or settings.get("preset") or "auto"
        date_format = date_format or settings.get("date_format")
        if decimal_comma is None and "decimal_comma" in settings:
            text = settings["decimal_comma"].strip().lower()
            if text not in ("true", "false", "1", "0", "yes", "no"):
                raise ConfigError(f"mapping file [settings] decimal_comma {text!r}: expected true or false")
            decimal_comma = text in ("true", "1", "yes")
        if date_format is not None and "%" not in date_format:
            raise ConfigError(
                f"--date-format {date_format!r}: expected a strptime pattern such as %d/%m/%Y %H:%M"
            )
        return cls(preset, date_format, decimal_comma)


def plan_sources(
    sources: Iterable[Source], mapper: Mapper, ctx: BuildContext, options: ReadingOptions
) -> list[str]:
    """`plan_source` for each source; return what to tell the user, with the column choices of the plain
    files (a field two columns could feed). Raises as `plan_source` does."""
    notes = []
    for source in sources:
        notes += plan_source(source, mapper, ctx, options)
        if source.columns is not None and source.preset is None:
            notes += [f"{source.name}: {note}" for note in mapper.plan(source.columns).choice_notes()]
    return notes


def plan_source(source: Source, mapper: Mapper, ctx: BuildContext, options: ReadingOptions) -> list[str]:
    """Decide how `source` is read (its preset, its number and date readings, the time zone it names) and
    set it on the source; return what to tell the user about it.

    Raises InputError naming the file, line, column and field when a column's values allow two readings,
    or a forced preset does not fit the file.
    """
    notes: list[str] = []
    preset = recognize(source.name, source.columns, options.preset)
    source.preset = preset
    samples = list(_sample_values(source, mapper, preset))
    if preset is not None:
        notes.append(f"{source.name}: read as {preset.title} (--preset none reads it as plain columns)")
        if preset.name == "google":
            source.timezone = google_timezone(source.preamble)
            _zone(source.timezone, source.name)  # refuse a zone that is none, now
    readings: dict[str, Reading] = {}
    for name in (*NUMBER_FIELDS, *DATE_FIELDS):
        texts = [(row, values[name]) for row, values in samples if isinstance(values.get(name), str)]
        try:
            reading = _decide(name, [text for _, text in texts], ctx.now, options)
        except Ambiguous as err:
            line = next((row.line for row, text in texts if text == err.value), None)
            raise InputError(_ambiguous(source, mapper, preset, name, line, err)) from None
        if not reading.plain:
            readings[name] = reading
            notes.append(f"{source.name}: {name} {_describe(reading)}")
    source.readings = readings
    return notes


def _decide(name: str, texts: list[str], now: int, options: ReadingOptions) -> Reading:
    if name in NUMBER_FIELDS:
        if options.decimal_comma is not None:
            return NumberReading("," if options.decimal_comma else ".", plain=False)
        return decide_number(texts)
    if options.date_format is not None:
        return DateReading("iso", options.date_format)
    return decide_date(texts, now)


def _describe(reading: Reading) -> str:
    if isinstance(reading, NumberReading):
        mark = "comma" if reading.decimal == "," else "dot"
        return f"read with a decimal {mark} (--decimal-comma or the mapping's decimal_comma says otherwise)"
    if reading.pattern is not None:
        return f"read as {reading.pattern} (--date-format)"
    order = "day-first" if reading.order == "dmy" else "month-first"
    return f"read as {order} dates, from its values (--date-format says otherwise)"


def _ambiguous(
    source: Source, mapper: Mapper, preset: Preset | None, name: str, line: int | None, err: Ambiguous
) -> str:
    column = _column_of(source, mapper, preset, name)
    where = f"line {line}, " if line is not None else ""
    if name in NUMBER_FIELDS:
        fix = "--decimal-comma (12,50) or --no-decimal-comma (12.50), or decimal_comma in the mapping file's"
    else:
        fix = (
            "--date-format PATTERN (a strptime pattern: %d/%m/%Y %H:%M day-first, %m/%d/%Y month-first),"
            " or date_format in the mapping file's"
        )
    return (
        f"{source.name}: {where}column {column!r} ({name}): {err.why}; snapcapi will not guess. Say how"
        f" to read it: {fix} [settings]"
    )


def _column_of(source: Source, mapper: Mapper, preset: Preset | None, name: str) -> str:
    columns = source.columns or []
    if preset is not None:
        by_fold = {fold(c): c for c in columns}
        found = [by_fold[fold(c)] for c in preset.columns.get(name, ()) if fold(c) in by_fold]
        return found[0] if found else name
    plan = mapper.plan(columns)
    return next((column for column, field in plan.pairs if field == name), name)


def _sample_values(
    source: Source, mapper: Mapper, preset: Preset | None
) -> Iterator[tuple[Row, dict[str, Any]]]:
    if preset is not None:
        context = Context(source.columns or [], source.preamble)
        for item in preset.prepare(iter(source.sample), context):
            if item.values is not None:
                yield item.row, item.values
        return
    if source.columns is None:
        return
    plan = mapper.plan(source.columns)
    for row in source.sample:
        yield row, mapper.map(row, plan)


def apply_readings(values: dict[str, Any], readings: Iterable[tuple[str, Reading]]) -> None:
    """Rewrite the row's number and date fields by their readings (text they do not fit stays as it is,
    for the event's checks to refuse)."""
    for name, reading in readings:
        value = values.get(name)
        if isinstance(value, str):
            if isinstance(reading, NumberReading):
                values[name] = read_number(value, reading)
            else:
                values[name] = read_date(value, reading)


def prepared_rows(source: Source, rows: Iterable[Row], mapper: Mapper, ctx: BuildContext) -> Iterator[Row]:
    """Yield, per row of a recognized export, a row of its event's field values (NOT_AN_EVENT and why,
    for a row that is none), for the chunk builder to take as they are. Rows that could not be read pass
    through."""
    preset = source.preset
    assert preset is not None, "prepared rows are those of a recognized export"
    context = Context(source.columns or [], source.preamble)
    readings = tuple(source.readings.items())
    price = source.readings.get("value")
    zone = _zone(source.timezone, source.name)
    explicit = _explicit_columns(mapper, source.columns or [])
    for item in preset.prepare(iter(rows), context):
        row = item.row
        if row.error is not None:
            yield row
            continue
        if item.values is None:
            yield Row(row.file, row.line, {NOT_AN_EVENT: item.skip or "not an event"})
            continue
        values = item.values
        for name, column in explicit:
            text = row.data.get(column)
            if isinstance(text, str) and text.strip():
                values[name] = text.strip().removeprefix("'")
        _event_name(values, preset, ctx)
        apply_readings(values, readings)
        if isinstance(price, NumberReading) and isinstance(values.get("contents"), list):
            for entry in values["contents"]:
                if isinstance(entry.get("item_price"), str):
                    entry["item_price"] = _number_or_text(read_number(entry["item_price"], price))
        for entry in values.get("contents") or ():
            if isinstance(entry.get("quantity"), str) and entry["quantity"].isdigit():
                entry["quantity"] = int(entry["quantity"])
            if isinstance(entry.get("item_price"), str):
                entry["item_price"] = _number_or_text(entry["item_price"])
        if zone is not None and isinstance(values.get("event_time"), str):
            values["event_time"] = _in_zone(values["event_time"], zone)
        who = any(values.get(name) and not is_totals_label(values[name]) for name in _WHO)
        if not who and is_totals_label(first_filled(row.data.values())):
            yield Row(row.file, row.line, {NOT_AN_EVENT: "totals row: no identifier and no id, not sent"})
            continue
        yield Row(row.file, row.line, values)


def _explicit_columns(mapper: Mapper, columns: list[str]) -> list[tuple[str, str]]:
    """The user's own column choices (`--map`, `[columns]`) that the file has: they win over the preset's."""
    by_fold = {fold(c): c for c in reversed(columns)}
    pairs = []
    for name, column in mapper.explicit.items():
        found = column if column in columns else by_fold.get(fold(column))
        if found is not None:
            pairs.append((name, found))
    return pairs


def _event_name(values: dict[str, Any], preset: Preset, ctx: BuildContext) -> None:
    name = values.get("event_name")
    known = isinstance(name, str) and lookup_event_name(name, dict(ctx.event_names)) is not None
    if name is not None and not known and preset.name == "google":
        # Google's conversion names are the advertiser's own ("Offline sale"): not an event name of Snap.
        del values["event_name"]
    if "event_name" not in values and ctx.default_event_name is None and preset.event is not None:
        values["event_name"] = preset.event


def _number_or_text(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


_OFFSET: Final = re.compile(r"([+-])(\d{2}):?(\d{2})")
_NAIVE: Final = re.compile(r"\d{4}-\d{2}-\d{2}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?")


def _zone(name: str | None, file: str) -> timezone | ZoneInfo | None:
    """The time zone a file names (`America/New_York`, `-0500`), or None; raises InputError for another."""
    if not name:
        return None
    offset = _OFFSET.fullmatch(name.strip())
    if offset is not None:
        sign = -1 if offset.group(1) == "-" else 1
        return timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"{file}: line 1, Parameters:TimeZone={name!r} is not a time zone (America/New_York or -0500)"
        ) from None


def _in_zone(text: str, zone: timezone | ZoneInfo) -> str:
    """A time without an offset, placed in the file's time zone; any other text as it is."""
    stripped = text.strip()
    if not _NAIVE.fullmatch(stripped):
        return text
    try:
        return datetime.fromisoformat(stripped).replace(tzinfo=zone).isoformat()
    except ValueError:
        return text
