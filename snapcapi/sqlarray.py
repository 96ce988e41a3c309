"""Many strings to SQLite in one parameter: a JSON array, which a statement reads with `json_each(?)`.

    text = json_array(ids)
    if text is not None:
        db.execute("INSERT INTO t (id) SELECT value FROM json_each(?)", (text,))
    else:
        db.executemany("INSERT INTO t (id) VALUES (?)", ((i,) for i in ids))

One statement over a JSON array costs well under half of `executemany`, which binds and steps each row
from Python (measured: 1M ids into a WITHOUT ROWID table, 1.06 against 0.36 us an id). SQLite's JSON
reader gives back every string as it was, except that it ends a string at "\\u0000": strings with a NUL
must go the row-by-row way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence


def json_array(texts: Sequence[str]) -> str | None:
    """Return `texts` as a JSON array for `json_each`, or None when one of them holds a NUL."""
    text = json.dumps(texts, ensure_ascii=False)
    # Also true of a string holding a backslash followed by "u0000": it goes row by row, which is only slower.
    return None if "\\u0000" in text else text
