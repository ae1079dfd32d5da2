"""A work item: a site no recipe can prove safe to rewrite, left for a model or a human.

The refactor pipeline produces them and the approval queue carries them (`needs_model`), so the
record sits below both and imports neither.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from engine.sql.site import SqlSite

__all__ = ["WorkItem"]


class WorkItem(BaseModel):
    """A site no recipe can prove safe to rewrite: a model (or a human) must do it."""

    id: str = Field(description="stable: folder, file and line")
    folder: str
    file: str
    start_line: int
    end_line: int
    reason: str = Field(description="why the recipes left it alone, in one sentence")
    site: SqlSite
    context: str = Field(description="the surrounding code, with line numbers")
    methods: list[str] = Field(default_factory=list, description="RPC methods it could use")
