"""Mapping: a row's own columns to snapcapi's canonical fields (`fields.FIELDS`).

Precedence, per field: `--map FIELD=COLUMN`, then the mapping file's `[columns]`, then automatic detection
(`fields.field_for_column`). A field with no value in the row takes the mapping file's `[constants]`.
JSON Lines rows may be flat, in Snap's v3 shape (`user_data`, `custom_data`, `app_data`), or Segment
`track`/`page` events (`segment.flatten`); nested values can be named with dotted paths (`context.ip`).
A text value's leading apostrophe, which spreadsheets use to keep a value text ('02134), is dropped.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from snapcapi.errors import ConfigError
from snapcapi.events.fields import FIELDS, field_for_column
from snapcapi.model import NOT_AN_EVENT, REJECTS_ERROR_COLUMN, Row
from snapcapi.read.segment import flatten_segment, is_segment_event, segment_non_event
from snapcapi.spec import EventName, fold, lookup_event_name

# The column a rejects file adds last (outputs.rejects): `error`, or `snapcapi_error`, `snapcapi_error_2`...
_REJECTS_ERROR = re.compile(rf"(?:snapcapi_)?{REJECTS_ERROR_COLUMN}|snapcapi_{REJECTS_ERROR_COLUMN}_[0-9]+")

# The [settings] of a mapping file that say how to read inputs rather than where to send.
READING_SETTINGS = ("preset", "date_format", "decimal_comma", "sheet")

# The v3 objects whose keys are read as if they were top-level columns.
_V3_OBJECTS = ("user_data", "custom_data", "app_data")


@dataclass(frozen=True, slots=True)
class MappingConfig:
    """What the user said about their columns: explicit columns, constants, their own event names."""

    columns: Mapping[str, str] = field(default_factory=dict)  # field -> column
    constants: Mapping[str, str] = field(default_factory=dict)  # field -> value
    event_names: Mapping[str, EventName] = field(default_factory=dict)  # folded user name -> Snap name
    settings: Mapping[str, str] = field(default_factory=dict)  # the file's [settings], for settings.py
    # The [settings] that say how to read the file (READING_SETTINGS), for `events.prepare`.
    reading: Mapping[str, str] = field(default_factory=dict)


def _check_field(name: str, where: str) -> str:
    if name not in FIELDS:
        raise ConfigError(f"{where}: unknown field {name!r}; the fields are: {', '.join(FIELDS)}")
    return name


def parse_map_options(options: Sequence[str]) -> dict[str, str]:
    """Return the field -> column pairs of `--map FIELD=COLUMN` options; raises ConfigError."""
    columns: dict[str, str] = {}
    for option in options:
        name, sep, column = option.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise ConfigError(
                f"--map {option!r}: expected FIELD=COLUMN, for example --map email=Email Address"
            )
        columns[_check_field(name.strip(), "--map")] = column.strip()
    return columns


def load_mapping_file(path: Path) -> MappingConfig:
    """Read a TOML mapping file (`[columns]`, `[constants]`, `[event_names]`, `[settings]`).

    Raises ConfigError naming the file when it cannot be read or says something snapcapi does not know.
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the mapping file ({err.strerror or err})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: not a valid TOML mapping file ({err})") from None
    return mapping_from_tables(document, str(path))


def mapping_from_tables(document: Mapping[str, Any], path: str = "mapping") -> MappingConfig:
    """Return the mapping that tables hold, as a mapping file's TOML would: `{"columns": {...},
    "constants": {...}, "event_names": {...}, "settings": {...}}` (each optional).

    Raises ConfigError, naming `path`, for an unknown table, field or event name, or a value that is not
    a string or a number.
    """
    unknown = set(document) - {"columns", "constants", "event_names", "settings"}
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}")
    tables = {name: _string_table(document.get(name, {}), path, name) for name in document}
    columns = {_check_field(k, f"{path} [columns]"): v for k, v in tables.get("columns", {}).items()}
    constants = {_check_field(k, f"{path} [constants]"): v for k, v in tables.get("constants", {}).items()}
    event_names: dict[str, EventName] = {}
    for user_name, snap_name in tables.get("event_names", {}).items():
        target = lookup_event_name(snap_name)
        if target is None:
            raise ConfigError(f"{path} [event_names]: {snap_name!r} is not one of Snap's event names")
        event_names[fold(user_name)] = target
    settings = tables.get("settings", {})
    reading = {name: settings.pop(name) for name in READING_SETTINGS if name in settings}
    return MappingConfig(columns, constants, event_names, settings, reading)


def _string_table(table: object, path: str, name: str) -> dict[str, str]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{path}: [{name}] must be a table")
    out: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, bool) and name == "settings" and key == "decimal_comma":
            out[key] = "true" if value else "false"
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{path} [{name}]: {key} must be a string or a number")
        out[str(key)] = str(value)
    return out


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """Which column feeds which field, decided once per set of columns."""

    pairs: tuple[tuple[str, str], ...]  # (column, field)
    unused: tuple[str, ...]  # columns that feed no field
    # Fields two or more columns could feed, detected (not named by the user): (field, chosen, the others).
    choices: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def choice_notes(self) -> list[str]:
        """Say, per field two columns could feed, which one was chosen and how to choose another."""
        return [
            f"{name} read from {chosen!r}; {', '.join(repr(o) for o in others)} could feed it too"
            f" (--map {name}=COLUMN, or [columns] in the mapping file, chooses)"
            for name, chosen, others in self.choices
        ]


class Mapper:
    """Turns rows into canonical field values (`dict[field, value]`), by the user's mapping."""

    def __init__(self, config: MappingConfig, explicit: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.explicit = {**config.columns, **(explicit or {})}
        self._plans: dict[tuple[str, ...], ColumnPlan] = {}

    def plan(self, columns: Iterable[str], *, source: str | None = None) -> ColumnPlan:
        """Return the column plan for a header; with `source`, a named column it lacks is a ConfigError."""
        columns = tuple(columns)
        cached = self._plans.get(columns)
        if cached is not None:
            return cached
        by_fold = {fold(c): c for c in reversed(columns)}  # the first of two equal folded names wins
        pairs: dict[str, str] = {}  # field -> column
        for name, column in self.explicit.items():
            found = column if column in columns else by_fold.get(fold(column))
            if found is not None:
                pairs[name] = found
            elif source is not None and "." not in column:
                raise ConfigError(
                    f"{source}: the mapping names column {column!r} for {name}, but the file has no such"
                    f" column (columns: {', '.join(columns)})"
                )
        taken = set(pairs.values())
        named = set(pairs)
        others: dict[str, list[str]] = {}
        for column in columns:
            detected = field_for_column(column)
            if detected is not None and detected not in pairs and column not in taken:
                pairs[detected] = column
                taken.add(column)
            elif detected is not None and detected not in named and column not in taken:
                others.setdefault(detected, []).append(column)
        if columns and _REJECTS_ERROR.fullmatch(columns[-1]) and columns[-1] not in taken:
            taken.add(columns[-1])  # a rejects file uploaded again: the reason of each refusal
        plan = ColumnPlan(
            pairs=tuple((column, name) for name, column in pairs.items()),
            unused=tuple(c for c in columns if c not in taken),
            choices=tuple((name, pairs[name], tuple(more)) for name, more in others.items()),
        )
        if len(self._plans) < 1024:  # JSON Lines rows can have ever-new key sets; keep the cache bounded
            self._plans[columns] = plan
        return plan

    def map(self, row: Row, plan: ColumnPlan | None = None) -> dict[str, Any]:
        """Return the row's canonical field values; empty values are left out. A row that is not an event
        (a Segment `identify` call) gives only `NOT_AN_EVENT`, whose value says why."""
        data = row.data
        if plan is None:  # JSON Lines: shapes vary from row to row
            reason = segment_non_event(data)
            if reason is not None:
                return {NOT_AN_EVENT: reason}
            data = _flat_json(data)
            plan = self.plan(data)
        values: dict[str, Any] = {}
        for column, name in plan.pairs:
            value = _unguarded(data.get(column))
            if not _is_empty(value):
                values[name] = value
        for name, column in self.explicit.items():
            if name not in values:  # a dotted path, or a key the JSON shape's flattening left out
                value = _unguarded(_dotted(row.data, column))
                if not _is_empty(value):
                    values[name] = value
        for name, value in self.config.constants.items():
            values.setdefault(name, value)
        return values

    def with_constants(self, values: dict[str, Any]) -> dict[str, Any]:
        """Return field values read already (a recognized export's) with the mapping's constants added
        where the row has no value."""
        for name, value in self.config.constants.items():
            values.setdefault(name, value)
        return values

    def fields_mapper(
        self, columns: Sequence[str], plan: ColumnPlan
    ) -> Callable[[Sequence[str]], dict[str, Any]] | None:
        """Return a faster `map` for the rows of a CSV or TSV file: it takes a row's fields in column order
        (not a `Row`) and returns what `map` returns for them. None when the mapping names columns itself
        (`--map`, `[columns]`): then only `map` applies."""
        if self.explicit:
            return None
        index = {column: i for i, column in enumerate(columns)}
        pairs = tuple((index[column], name) for column, name in plan.pairs)
        constants = tuple(self.config.constants.items())

        def map_fields(fields: Sequence[str]) -> dict[str, Any]:
            # _is_empty's test for a str, without making its stripped copy, and _unguarded's, inline.
            values: dict[str, Any] = {
                name: value
                for i, name in pairs
                if (value := fields[i])
                and not value.isspace()
                and (value[0] != GUARD or ((value := value[1:]) and not value.isspace()))
            }
            for name, value in constants:
                values.setdefault(name, value)
            return values

        return map_fields


# Excel, Google Sheets and Shopify's exports put an apostrophe before a value that must stay text: a zip
# code with a leading zero ('02134), a phone number that would read as a formula ('+14155550100). The
# apostrophe is not part of the value.
GUARD = "'"


def _unguarded(value: Any) -> Any:
    """Return a text value without the leading apostrophe that marks it as text in a spreadsheet."""
    if type(value) is str and value[:1] == GUARD:
        return value[1:]
    return value


def _flat_json(data: dict[str, Any]) -> dict[str, Any]:
    """Read a JSON row's v3 objects or Segment shape as flat columns."""
    if is_segment_event(data):
        return flatten_segment(data)
    if not any(isinstance(data.get(name), dict) for name in _V3_OBJECTS):
        return data
    flat = {k: v for k, v in data.items() if k not in _V3_OBJECTS}
    for name in _V3_OBJECTS:
        inner = data.get(name)
        if isinstance(inner, dict):
            for key, value in inner.items():
                flat.setdefault(key, value)
    return flat


def _dotted(data: Mapping[str, Any], path: str) -> Any:
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | dict) and not value
