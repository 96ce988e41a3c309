"""What snapcapi makes of a file, without validating every row (`snapcapi inspect FILE`).

    inspect(path, ...) -> Inspection          format, encoding, delimiter, recognized export, each column
                                              and the field it feeds with two masked samples, the fields
                                              the event types seen still need, the options to suggest
    mapping_toml(inspection) -> str           a mapping file stating every choice, to edit and --mapping

Samples never show a whole personal value: `j***@gmail.com`, `+1 ***-***-0100`, `J***`; values of fields
that are not personal (event names, times, amounts, currencies, ids) are shown as they are.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import phonenumbers

from snapcapi.errors import InputError
from snapcapi.events.build import BuildContext
from snapcapi.events.mapping import Mapper, MappingConfig, load_mapping_file, parse_map_options
from snapcapi.events.prepare import DATE_FIELDS, NUMBER_FIELDS, ReadingOptions, plan_source, prepared_rows
from snapcapi.read.open import Source, SourceSpec, open_source
from snapcapi.read.values import DateReading, NumberReading
from snapcapi.settings import resolve
from snapcapi.spec import ActionSource, EventName, fold, lookup_event_name
from snapcapi.wiring import context

# Fields whose values are not personal: shown as they are (cut to 40 characters).
_PLAIN_FIELDS: Final = frozenset(
    "event_name event_time action_source event_id value currency order_id content_ids contents"
    " content_category num_items search_string sign_up_method brands app_id advertiser_tracking_enabled"
    " data_processing_options".split()
)
_MATCHABLE: Final = ("email", "phone", "madid")
# What `inspect` shows as the field of a column a recognized export reads to decide which rows are sent.
DECIDES: Final = "(which rows are sent)"


@dataclass(slots=True)
class ColumnView:
    """One column: the field it feeds (None: none), and two of its values, masked."""

    column: str
    field: str | None
    samples: list[str]


@dataclass(slots=True)
class Inspection:
    """What `inspect` found in one file."""

    file: str
    format: str
    encoding: str
    delimiter: str | None
    preamble: list[str]
    export: str | None  # the recognized export's name ("shopify"), None for plain columns
    export_title: str | None
    columns: list[ColumnView]
    readings: dict[str, str]  # field -> how its column is read ("decimal comma", "day-first dates")
    event_types: list[str]
    missing: list[str]  # what the event types seen need and the file lacks
    suggestions: list[str]  # options to pass
    notes: list[str] = field(default_factory=list)
    ambiguous: str | None = None  # why a column cannot be read without an option
    date_format: str | None = None
    decimal_comma: bool | None = None
    reads: dict[str, list[str]] = field(default_factory=dict)  # field -> its columns, by precedence

    def as_json(self) -> dict[str, Any]:
        """The inspection as a JSON object (`inspect --json`)."""
        return {
            "file": self.file,
            "format": self.format,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "preamble": self.preamble,
            "export": self.export,
            "columns": [{"column": c.column, "field": c.field, "samples": c.samples} for c in self.columns],
            "readings": self.readings,
            "event_types": self.event_types,
            "missing": self.missing,
            "suggested_options": self.suggestions,
            "ambiguous": self.ambiguous,
            "notes": self.notes,
        }


def inspect_file(
    path: str,
    *,
    format: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    preset: str | None = None,
    date_format: str | None = None,
    decimal_comma: bool | None = None,
    maps: Sequence[str] = (),
    mapping: Path | None = None,
    event_type: str | None = None,
    conversion_type: str | None = None,
    timezone: str | None = None,
) -> Inspection:
    """Open `path` (`-`: standard input) as `upload` would, with the same options, and inspect it.

    Raises InputError (unreadable file, a forced preset that does not fit) and ConfigError (options).
    """
    config = load_mapping_file(mapping) if mapping else MappingConfig()
    flags = {"conversion_type": conversion_type, "timezone": timezone, "event_type": event_type}
    settings = resolve(flags, os.environ, mapping_settings=config.settings)
    mapper = Mapper(config, parse_map_options(list(maps)))
    ctx = context(settings, config, assets_required=False)
    options = ReadingOptions.of(preset, date_format, decimal_comma, dict(config.reading))
    given = (
        conversion_type is not None
        or "conversion_type" in config.settings
        or bool(os.environ.get("SNAPCAPI_CONVERSION_TYPE"))
    )
    with open_source(SourceSpec(path, format, delimiter, sheet or config.reading.get("sheet"))) as source:
        return inspect(source, mapper, ctx, options, given)


def inspect(
    source: Source, mapper: Mapper, ctx: BuildContext, options: ReadingOptions, conversion_given: bool
) -> Inspection:
    """Return what snapcapi makes of the opened `source` (its first rows only).

    `conversion_given`: the user chose a conversion type (else one is suggested when the file needs it).
    Raises InputError only when a forced preset does not fit the file.
    """
    ambiguous = None
    try:
        notes = plan_source(source, mapper, ctx, options)
    except InputError as err:
        if "--preset" in str(err):
            raise
        ambiguous, notes = str(err), []
        source.readings = {}
    preset = source.preset
    fields_of = _fields_by_column(source, mapper)
    columns = [
        ColumnView(c, ", ".join(fields_of[c]) or None, _samples(source, c, fields_of[c]))
        for c in source.columns or []
    ]
    fed = {n for names in fields_of.values() for n in names if n != DECIDES} | set(mapper.config.constants)
    reads: dict[str, list[str]] = {}
    if preset is not None:
        by_fold = {fold(c): c for c in reversed(source.columns or [])}
        for name, candidates in preset.columns.items():
            present = [by_fold[fold(c)] for c in candidates if fold(c) in by_fold]
            if present:
                reads[name] = list(dict.fromkeys(present))
    else:
        for view in columns:
            for name in (view.field or "").split(", ") if view.field else ():
                reads.setdefault(name, []).append(view.column)
    events = _event_types(source, mapper, ctx)
    missing, suggestions = _needs(fed, events, ctx, conversion_given, ambiguous)
    return Inspection(
        file=source.name,
        format=source.format,
        encoding="UTF-8 with BOM" if getattr(source, "bom", False) else "UTF-8",
        delimiter=source.delimiter,
        preamble=list(source.preamble),
        export=preset.name if preset else None,
        export_title=preset.title if preset else None,
        columns=columns,
        readings={name: _reading_text(r) for name, r in source.readings.items()},
        event_types=events,
        missing=missing,
        suggestions=suggestions,
        notes=notes,
        ambiguous=ambiguous,
        date_format=options.date_format,
        decimal_comma=options.decimal_comma,
        reads=reads,
    )


def _fields_by_column(source: Source, mapper: Mapper) -> dict[str, list[str]]:
    columns = source.columns or []
    out: dict[str, list[str]] = {c: [] for c in columns}
    if source.preset is not None:
        by_fold = {fold(c): c for c in reversed(columns)}
        for name, candidates in source.preset.columns.items():
            for candidate in candidates:
                column = by_fold.get(fold(candidate))
                if column is not None and name not in out[column]:
                    out[column].append(name)
        for name, column in mapper.explicit.items():
            if column in out:
                out[column] = [name]
        for candidate in source.preset.decides:
            column = by_fold.get(fold(candidate))
            if column is not None and not out[column]:
                out[column] = [DECIDES]
        return out
    for column, name in mapper.plan(columns).pairs:
        out[column].append(name)
    return out


def _samples(source: Source, column: str, names: Sequence[str]) -> list[str]:
    values = [str(row.data.get(column) or "").strip() for row in source.sample]
    found = [v for v in dict.fromkeys(values) if v][:2]
    plain = bool(names) and all(name in _PLAIN_FIELDS or name == DECIDES for name in names)
    return [v[:40] if plain else mask(v, names[0] if names else None) for v in found]


def mask(value: str, name: str | None) -> str:
    """Return `value` with its personal part hidden: an email keeps its first letter and its domain, a
    phone its country code and last four digits, anything else its first character."""
    value = value.strip().removeprefix("'")
    if not value:
        return ""
    if name == "email" and "@" in value:
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}***@{domain}"
    if name == "phone":
        keep = _country_code_digits(value)
        digits = sum(ch.isdigit() for ch in value)
        seen = 0
        out = []
        for ch in value:
            if ch.isdigit():
                seen += 1
                out.append(ch if seen <= keep or seen > digits - 4 else "*")
            else:
                out.append(ch)
        return "".join(out)
    return f"{value[:1]}***"


def _country_code_digits(value: str) -> int:
    """How many leading digits of an international number are its country code (0 for a national one)."""
    text = value.strip()
    if not text.startswith(("+", "00")):
        return 0
    try:
        number = phonenumbers.parse("+" + text[2:] if text.startswith("00") else text, None)
    except phonenumbers.NumberParseException:
        return 0
    return len(str(number.country_code))


def _event_types(source: Source, mapper: Mapper, ctx: BuildContext) -> list[str]:
    """The event names the first rows would have, as they would be read."""
    values: list[dict[str, Any]] = []
    if source.preset is not None:
        values = [row.data for row in prepared_rows(source, source.sample, mapper, ctx)]
    elif source.columns is not None:
        plan = mapper.plan(source.columns)
        values = [mapper.map(row, plan) for row in source.sample]
    names: dict[str, None] = {}
    for row in values:
        value = row.get("event_name")
        if isinstance(value, str) and value.strip():
            found = lookup_event_name(value, dict(ctx.event_names))
            names[found.value if found else value.strip()] = None
    if ctx.default_event_name is not None and (not values or any("event_name" not in v for v in values)):
        names[ctx.default_event_name.value] = None
    return list(names)


def _needs(
    fed: set[str], events: list[str], ctx: BuildContext, conversion_given: bool, ambiguous: str | None
) -> tuple[list[str], list[str]]:
    missing: list[str] = []
    suggestions: list[str] = []
    if "event_name" not in fed and not events:
        missing.append("event_name (no column, and no --event-type)")
        suggestions.append("--event-type NAME (PURCHASE, SIGN_UP...: snapcapi event-types)")
    if "event_time" not in fed:
        missing.append("event_time (no column)")
    if not any(name in fed for name in _MATCHABLE) and not {"ip_address", "user_agent"} <= fed:
        missing.append("an identifier: email, phone, madid, or ip_address and user_agent")
    if EventName.PURCHASE.value in events:
        missing += [f"{name} (PURCHASE events need it)" for name in ("value", "currency") if name not in fed]
        if "currency" not in fed:
            suggestions.append('[constants] currency = "USD" in a mapping file')
    web = ctx.default_action_source is ActionSource.WEB and "action_source" not in fed
    if web and "event_source_url" not in fed:
        if conversion_given:
            missing.append("event_source_url (WEB events need the page URL)")
        else:
            suggestions.append("--conversion-type OFFLINE (no page URL column: not web events?)")
    unknown = [e for e in events if lookup_event_name(e) is None]
    if unknown:
        suggestions.append(f"[event_names] in a mapping file for {', '.join(repr(e) for e in unknown)}")
    if ambiguous is not None:
        suggestions.append("--date-format PATTERN or --decimal-comma / --no-decimal-comma (see below)")
    return missing, suggestions


def _reading_text(reading: NumberReading | DateReading) -> str:
    if isinstance(reading, NumberReading):
        return "decimal comma" if reading.decimal == "," else "decimal dot, thousands separators"
    if reading.pattern is not None:
        return f"dates as {reading.pattern}"
    return "day-first dates" if reading.order == "dmy" else "month-first dates"


def mapping_toml(inspection: Inspection, events: Sequence[str] = ()) -> str:
    """A mapping file that states every column choice of `inspection`, for the user to edit."""
    lines = [
        f"# snapcapi mapping for {inspection.file}, written by `snapcapi inspect`: edit it, then pass it",
        "# with --mapping. Every column snapcapi would read is named here; the others are listed, commented.",
        "",
        "[columns]",
    ]
    for name, columns in inspection.reads.items():
        if inspection.export is not None:
            # The export's own reading takes these columns row by row (the first with a value, or all of
            # them for an order's items): a [columns] line would put one column in its place.
            lines.append(
                f"# {name} = {_quote(columns[0])}  # {inspection.export} reads: {', '.join(columns)}"
            )
        else:
            lines.append(f"{name} = {_quote(columns[0])}")
    unused = [c.column for c in inspection.columns if not c.field]
    if unused:
        lines.append("# not read: " + ", ".join(_quote(c) for c in unused))
    lines += ["", "[constants]"]
    if not any(c.field and "currency" in c.field for c in inspection.columns):
        lines.append('# currency = "USD"')
    lines.append('# action_source = "OFFLINE"')
    lines += ["", "[event_names]"]
    for name in inspection.event_types:
        if lookup_event_name(name) is None:
            lines.append(f'{_quote(name)} = "PURCHASE"  # choose one of: snapcapi event-types')
    lines += ["", "[settings]"]
    lines.append(f"preset = {_quote(inspection.export or 'none')}")
    reading = inspection.readings
    if inspection.date_format:
        lines.append(f"date_format = {_quote(inspection.date_format)}")
    elif any(name in reading for name in DATE_FIELDS) or inspection.ambiguous:
        lines.append('# date_format = "%d/%m/%Y %H:%M"')
    if inspection.decimal_comma is not None:
        lines.append(f"decimal_comma = {'true' if inspection.decimal_comma else 'false'}")
    elif any(name in reading for name in NUMBER_FIELDS):
        lines.append(f"decimal_comma = {'true' if reading.get('value') == 'decimal comma' else 'false'}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
