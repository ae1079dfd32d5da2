"""Memory entries at the boundary: kinds and their collections, entries, hits, ids."""

from __future__ import annotations

import hashlib
import json
from typing import Literal, get_args

from pydantic import BaseModel, Field, field_validator, model_validator

from engine.memory.errors import UnknownMemory

Kind = Literal["convention", "decision", "task", "migration_fact"]
Origin = Literal["add", "ingest", "seed"]

KINDS: tuple[Kind, ...] = get_args(Kind)
COLLECTIONS: dict[Kind, str] = {
    "convention": "conventions",
    "decision": "decisions",
    "task": "task_history",
    "migration_fact": "migration_facts",
}
_ALIASES: dict[str, Kind] = {
    **{kind: kind for kind in KINDS},
    **{name: kind for kind, name in COLLECTIONS.items()},
    "migration": "migration_fact",
    "migration-fact": "migration_fact",
    "migration-facts": "migration_fact",
    "task-history": "task",
}


def parse_kind(text: str) -> Kind:
    """A kind from its name, its collection's name, or a dashed spelling."""
    kind = _ALIASES.get(text.strip().lower())
    if kind is None:
        raise UnknownMemory(f"unknown memory kind {text!r}; use one of: {', '.join(KINDS)}")
    return kind


def kind_of_id(entry_id: str) -> Kind | None:
    """The kind an id names (ids are `<kind>-<hash>`), or None for a string that is no id."""
    prefix, _, digest = entry_id.rpartition("-")
    if prefix in KINDS and len(digest) == 16:
        return prefix
    return None


class EntryFields(BaseModel):
    """What an entry is about and where it came from; all optional but the kind."""

    kind: Kind
    folder: str | None = None
    task_id: str | None = None
    source: str | None = None
    line_start: int | None = Field(None, ge=1)
    line_end: int | None = Field(None, ge=1)
    section: str | None = None
    origin: Origin = "add"

    @field_validator("folder", "task_id", "source", "section")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None

    @field_validator("folder")
    @classmethod
    def _posix_folder(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.replace("\\", "/").strip("/")
        return value or None

    @model_validator(mode="after")
    def _line_range(self) -> EntryFields:
        if (self.line_start is None) != (self.line_end is None):
            raise ValueError("line_start and line_end go together")
        if self.line_start is not None and self.line_end is not None:
            if self.line_end < self.line_start:
                raise ValueError("line_end is before line_start")
            if self.source is None:
                raise ValueError("a line range needs a source")
        return self


class NewEntry(EntryFields):
    text: str

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the text is empty")
        return value

    @property
    def entry_id(self) -> str:
        """A content hash: the same text with the same provenance is the same entry."""
        key = [
            self.kind,
            self.text,
            self.folder,
            self.task_id,
            self.source,
            self.line_start,
            self.line_end,
        ]
        digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()
        return f"{self.kind}-{digest[:16]}"


class MemoryEntry(EntryFields):
    id: str
    text: str
    created: str


class MemoryHit(MemoryEntry):
    score: float = Field(description="relevance in [0, 1]: cosine similarity, negatives as 0")


class AddResult(BaseModel):
    added: list[str] = Field(default_factory=list)
    existing: list[str] = Field(default_factory=list, description="already stored; unchanged")
    removed: list[str] = Field(default_factory=list, description="stale entries replaced")

    @property
    def ids(self) -> list[str]:
        return [*self.added, *self.existing]
