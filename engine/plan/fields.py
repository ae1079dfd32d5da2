"""The loose fields of a task item as the operations read and write them: a missing status is
`pending`, text may be absent or not a string, details grow by whole paragraphs, and id lists
given by a caller may be comma-separated and repeat."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.plan.document import (
    PlanError,
    Ref,
    TaskIndex,
    parse_id,
)

__all__ = ["as_text", "existing_refs", "item_status", "required_text", "unique", "with_paragraph"]


def item_status(item: Mapping[str, Any]) -> str:
    status = item.get("status")
    return status if isinstance(status, str) and status else "pending"


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def required_text(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PlanError(f"a {what} is required")
    return value


def with_paragraph(existing: Any, paragraph: str) -> str:
    text = existing if isinstance(existing, str) else ""
    return f"{text}\n\n{paragraph}" if text.strip() else paragraph


def existing_refs(index: TaskIndex, ids: Iterable[str]) -> list[Ref]:
    refs: list[Ref] = []
    for raw in ids:
        for part in str(raw).split(","):
            if not part.strip():
                continue
            ref = parse_id(part)
            index.require(ref)
            if ref not in refs:
                refs.append(ref)
    return refs


def unique(values: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(values))
