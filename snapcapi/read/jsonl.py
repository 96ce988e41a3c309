"""JSON Lines records as `Row`s: one object a line.

An empty file gives zero rows (there is no header to miss). NaN and Infinity are not JSON; unpaired
`\\ud800`-style escapes are refused, since they cannot be written out again as UTF-8. A line that is not
one JSON object is an error row, and reading goes on with the next line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from typing import Any, Final

from snapcapi.errors import InputError
from snapcapi.model import Row
from snapcapi.read.lines import STREAM_ERRORS, LineState, describe, line_problem, size_text, skip_rest_of_line


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant)
_JSON_KINDS: Final = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
}


def jsonl_rows(
    name: str, readline: Callable[[int], str], state: LineState, cap: int
) -> Generator[Row, None, None]:
    decode = _DECODER.decode
    line_no = state.lines
    try:
        while line := readline(cap):
            state.lines += 1
            line_no = state.lines
            if len(line) >= cap and line[-1] != "\n":
                skip_rest_of_line(readline, line, cap)
                yield Row(name, line_no, {}, f"line {line_no}: longer than {size_text(cap)}; skipped")
                continue
            if not line.isascii() and (problem := line_problem(line, line_no)):
                yield Row(name, line_no, {}, problem)
                continue
            try:
                value = decode(line)
            except json.JSONDecodeError as error:
                if not line.isspace():  # blank lines are checked only here, off the fast path
                    yield Row(name, line_no, {}, _json_message(line, line_no, error))
                continue
            except ValueError as error:  # NaN, Infinity, integers of thousands of digits
                yield Row(name, line_no, {}, f"line {line_no}: not valid JSON ({error})")
                continue
            except RecursionError:
                yield Row(name, line_no, {}, f"line {line_no}: JSON nested too deeply")
                continue
            if type(value) is not dict:
                kind = _JSON_KINDS.get(type(value), "null")
                yield Row(name, line_no, {}, f"line {line_no}: expected a JSON object, got {kind}")
            elif "\\u" in line and _has_lone_surrogate(value):
                message = f"line {line_no}: a \\u escape is half of a surrogate pair; it is not a character"
                yield Row(name, line_no, {}, message)
            else:
                yield Row(name, line_no, value)
    except STREAM_ERRORS as error:
        raise InputError(f"{name}: {describe(error)} after line {line_no}") from None


def _json_message(line: str, line_no: int, error: json.JSONDecodeError) -> str:
    if "\0" in line:
        return f"line {line_no}: contains a NUL byte (column {line.index(chr(0)) + 1})"
    return f"line {line_no}: not valid JSON ({error.msg} at column {error.colno})"


def _has_lone_surrogate(value: dict[str, Any]) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
