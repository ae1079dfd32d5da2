"""Whether a piece of SQL text has a run-time value spliced into a value position."""

from __future__ import annotations

import re
from collections.abc import Sequence

from engine.sql.classify import looks_like_statement

__all__ = ["splices_sql_value"]

# The text before a spliced value: a comparison, LIKE, LIMIT/OFFSET, an open VALUES or IN
# list, or an opening quote.
_SQL_VALUE_SLOT = re.compile(
    r"(?:[=<>]|\blike|\blimit|\boffset)\s*['\"%]*\Z|\b(?:values|in)\s*\([^()]*\Z|'\Z",
    re.IGNORECASE,
)


def splices_sql_value(parts: Sequence[str | None]) -> bool:
    """Whether literal parts (str) and run-time values (None) make SQL with a value spliced in.

    Only value positions count (`= ${id}`, `IN (${ids})`, `'${name}'`): a column list, a table
    name or a WHERE fragment from a query builder is SQL text, not a value an attacker sends.
    """
    if not looks_like_statement("".join("x" if p is None else p for p in parts)):
        return False
    before = ""
    for part in parts:
        if part is None:
            if _SQL_VALUE_SLOT.search(before[-200:]):
                return True
            before += "x"
        else:
            before += part
    return False
