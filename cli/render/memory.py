"""Printers of memory entries."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.memory.models import EntryFields


def where_from(entry: EntryFields) -> str:
    if entry.source is None:
        return ""
    if entry.line_start is None:
        return str(entry.source)
    return f"{entry.source}:{entry.line_start}-{entry.line_end}"


def snippet(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."
